import stripAnsi from 'strip-ansi';

// Text from the database (endpoint names and URLs, response bodies, error and NOTICE messages)
// was written by whoever can write an endpoint or run a receiver. Printed raw, an escape
// sequence in it could rewrite the screen, retitle the window, plant a hyperlink or hide a line
// (a carriage return). The CLI itself prints no control characters but newlines, so every text
// is cleaned on its way out: escape sequences (ESC and C1 CSI) removed whole by strip-ansi, then
// every other C0/C1 control and DEL replaced, visibly.

/** What a lone control character becomes: visible, so a tampered value does not look clean. */
export const REPLACEMENT = '\uFFFD';

// eslint-disable-next-line no-control-regex
const CONTROLS_BUT_NEWLINE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/g;
// eslint-disable-next-line no-control-regex
const LINE_BREAKS_AND_TABS = /[\t\n\r\u000b\u000c]+/g;
const C1_AND_DEL = /[\u007f-\u009f]/g;

/** `text` safe for a terminal: newlines kept, escape sequences gone, other controls replaced. */
export function terminalSafe(text: string): string {
  return stripAnsi(text).replace(CONTROLS_BUT_NEWLINE, REPLACEMENT);
}

/** `text` safe for a terminal on one line: line breaks and tabs become one space. */
export function terminalSafeLine(text: string): string {
  return stripAnsi(text).replace(LINE_BREAKS_AND_TABS, ' ').replace(CONTROLS_BUT_NEWLINE, REPLACEMENT);
}

/**
 * JSON text safe for a terminal and still the same value: JSON.stringify escapes C0 controls
 * (ESC is `\u001b`) but leaves DEL and C1 (`\u009b` is a CSI) raw; they are escaped too.
 */
export function terminalSafeJson(json: string): string {
  return json.replace(C1_AND_DEL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
