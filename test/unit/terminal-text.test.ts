import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createOutput, excerpt, formatTable } from '../../src/cli/output.ts';
import { REPLACEMENT, terminalSafe, terminalSafeJson, terminalSafeLine } from '../../src/cli/terminal-text.ts';

// An endpoint name an attacker with write access to webhooks.endpoints might choose: it clears
// the screen, sets the window title, plants a hyperlink, colours text with a C1 CSI, rings the
// bell, and uses a carriage return to overwrite what was printed before it on the line.
const HOSTILE_NAME =
  'crm\u001b[2J\u001b[H\u001b]0;owned\u0007\u001b]8;;https://evil.example/\u001b\\click\u001b]8;;\u001b\\\u009b31mred\u0007\rsafe-looking\u0000\u007f';

// Any C0 control but newline, DEL, or C1 control (ESC and CSI included).
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;

function capture(json = false) {
  let stdout = '';
  let stderr = '';
  const out = createOutput({ write: (t: string) => (stdout += t) }, { write: (t: string) => (stderr += t) }, { json });
  return { out, stdout: () => stdout, stderr: () => stderr };
}

describe('terminal-safe CLI output', () => {
  test('a hostile endpoint name loses its escape sequences whole and its other controls visibly', () => {
    // The lone BEL, NUL and DEL are replaced; the carriage return is a line break, so a space.
    assert.equal(terminalSafeLine(HOSTILE_NAME), `crmclickred${REPLACEMENT} safe-looking${REPLACEMENT}${REPLACEMENT}`);
    assert.doesNotMatch(terminalSafe(HOSTILE_NAME), CONTROL);
  });

  test('tables, fields, lines and errors print a hostile name without any control character', () => {
    const c = capture();
    c.out.table(['NAME', 'URL'], [[HOSTILE_NAME, 'https://example.com/\u001b[8mhidden']]);
    c.out.fields([['name', HOSTILE_NAME]], '  ');
    c.out.line(`Created endpoint ${HOSTILE_NAME}`);
    c.out.error(`dialer-webhooks: webhooks.endpoints: url "x" is not an http(s) URL (endpoint "${HOSTILE_NAME}")`);
    for (const text of [c.stdout(), c.stderr()]) {
      assert.match(text, /crmclickred/);
      assert.doesNotMatch(text, CONTROL);
    }
    assert.match(c.stdout(), /^NAME +URL\n/);
  });

  test('the CLI keeps its own newlines, and a table cell or field stays on one line', () => {
    const c = capture();
    c.out.line('first\nsecond');
    c.out.fields([['body', 'line one\r\nline two\tend']]);
    assert.equal(c.stdout(), 'first\nsecond\nbody:  line one line two end\n');
    assert.equal(formatTable(['A'], [['x\ny']]), 'A\nx y\n');
    assert.equal(excerpt('\u001b[31mtoo long a body\u001b[0m', 8), 'too lon…');
  });

  test('JSON output is the same value with DEL and C1 controls escaped too', () => {
    const c = capture(true);
    const value = { name: HOSTILE_NAME, body: 'a\u009bb\u007fc' };
    c.out.printJson(value);
    assert.doesNotMatch(c.stdout(), CONTROL);
    assert.deepEqual(JSON.parse(c.stdout()), value);
    assert.equal(terminalSafeJson(JSON.stringify('\u0085')), '"\\u0085"');
  });

  test('ordinary text, Unicode included, is printed unchanged', () => {
    const text = 'crm-sync → https://crm.example.com/hooks?x=1 — naïve 日本';
    assert.equal(terminalSafe(text), text);
    assert.equal(terminalSafeLine(text), text);
  });
});
