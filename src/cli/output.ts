import { terminalSafe, terminalSafeJson, terminalSafeLine } from './terminal-text.ts';

/**
 * Everything the CLI prints goes through here: human tables and key/value blocks on stdout, JSON
 * for scripts, messages on stderr. The streams are passed in (the entry file gives it
 * process.stdout/stderr; tests may give buffers). Every text is made terminal-safe on the way
 * out (terminal-text.ts): much of it comes from the database.
 */
export interface Writable {
  write(text: string): unknown;
}

export interface Output {
  /** True when `--json` was given: commands print one JSON document and nothing else on stdout. */
  readonly json: boolean;
  /** A line on stdout. */
  line(text?: string): void;
  /** A line on stderr. */
  error(text: string): void;
  /** One JSON document on stdout, pretty-printed. */
  printJson(value: unknown): void;
  /** A table on stdout; an empty one prints `empty` instead. */
  table(headers: readonly string[], rows: ReadonlyArray<ReadonlyArray<string>>, empty?: string): void;
  /** Aligned `key: value` lines on stdout, indented by `indent`. */
  fields(pairs: ReadonlyArray<readonly [string, string]>, indent?: string): void;
}

export function createOutput(stdout: Writable, stderr: Writable, options: { json: boolean }): Output {
  return {
    json: options.json,
    line: (text = '') => void stdout.write(`${terminalSafe(text)}\n`),
    error: (text) => void stderr.write(`${terminalSafe(text)}\n`),
    printJson: (value) => void stdout.write(`${terminalSafeJson(JSON.stringify(value, null, 2))}\n`),
    table: (headers, rows, empty = '(none)') =>
      void stdout.write(rows.length === 0 ? `${terminalSafe(empty)}\n` : formatTable(headers, rows)),
    fields: (pairs, indent = '') => void stdout.write(formatFields(pairs, indent)),
  };
}

/** Columns left-aligned, two spaces apart; cells made single-line and terminal-safe. Trailing spaces trimmed. */
export function formatTable(headers: readonly string[], rows: ReadonlyArray<ReadonlyArray<string>>): string {
  const cells = [headers.map(terminalSafeLine), ...rows.map((r) => r.map(terminalSafeLine))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return (
    cells
      .map((r) =>
        r
          .map((c, i) => c.padEnd(widths[i]!))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

function formatFields(pairs: ReadonlyArray<readonly [string, string]>, indent: string): string {
  const width = Math.max(0, ...pairs.map(([k]) => k.length + 1));
  return pairs.map(([k, v]) => `${indent}${`${k}:`.padEnd(width)}  ${terminalSafeLine(v)}`.trimEnd()).join('\n') + '\n';
}

/** At most `max` characters of `text` on one line, `…` marking a cut. */
export function excerpt(text: string | null, max: number): string {
  if (text === null) return '';
  const one = terminalSafeLine(text).trim();
  return one.length <= max ? one : `${one.slice(0, max - 1)}…`;
}

/**
 * A secret as it may appear on a screen or in a log: the `whsec_` prefix (if any) and four
 * characters, then `…` (`whsec_abcd…`). Null stays null.
 */
export function maskSecret(secret: string | null): string | null {
  if (secret === null) return null;
  const prefix = secret.startsWith('whsec_') ? 'whsec_' : '';
  return `${prefix}${secret.slice(prefix.length, prefix.length + 4)}…`;
}

/** A time for humans (a Date, a string pg printed, or ms): ISO 8601 in UTC to the second (`2026-03-07 15:30:00Z`); `-` for none. */
export function formatTime(value: Date | string | number | null): string {
  if (value === null) return '-';
  const d = value instanceof Date ? value : new Date(value);
  return Number.isNaN(d.getTime())
    ? String(value)
    : d
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d{3}Z$/, 'Z');
}

/** A time for JSON: full ISO 8601 string, or null. */
export function isoTime(value: Date | string | number | null): string | null {
  if (value === null) return null;
  const d = value instanceof Date ? value : new Date(value);
  return d.toISOString();
}

/** `850 ms`, `4.2 s`, `2 min`, for durations and delays. */
export function formatMs(ms: number | null): string {
  if (ms === null) return '-';
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${Number((ms / 1000).toFixed(1))} s`;
  if (ms < 3_600_000) return `${Number((ms / 60_000).toFixed(1))} min`;
  return `${Number((ms / 3_600_000).toFixed(1))} h`;
}

/** Replaces the password of a database URL, so it can be shown. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/\/\/[^@/]*@/, '//***@');
  }
}
