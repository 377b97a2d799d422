/**
 * Postgres array literals for the `unnest($n::type[])` parameters of the batched hot-path
 * statements (the delivery claim, the delivery-log flush), built here instead of by node-postgres.
 * pg's own conversion runs two regex replaces on every element and formats every Date by hand;
 * with ~40 elements per delivery that was about a tenth of the dispatcher's CPU. The literals mean
 * exactly what pg's would: `NULL` for null, `\` and `"` escaped. An element is double-quoted only
 * where Postgres's array parser needs it (most are ids, numbers and times, which do not): every
 * quote is two more strings per element, and these literals were the dispatcher's largest
 * allocation.
 */

export type ArrayElement = string | number | bigint | null | undefined;

// What array_in treats specially outside quotes: the delimiter, braces, quotes, backslash and
// (trimmed) white space; \s is wider than its white space, which only quotes a little more.
const NEEDS_QUOTES = /[\s",{}\\]/;
const NEEDS_ESCAPE = /[\\"]/;
const ESCAPE = /[\\"]/g;
// An unquoted NULL, in any case, is a null element.
const NULL_WORD = /^null$/i;
const same = <T>(v: T): T => v;

function element(v: ArrayElement): string {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v !== 'string') return String(v);
  if (v.length > 0 && !NEEDS_QUOTES.test(v) && !(v.length === 4 && NULL_WORD.test(v))) return v;
  return NEEDS_ESCAPE.test(v) ? `"${v.replace(ESCAPE, '\\$&')}"` : `"${v}"`;
}

/** The literal of a one-dimensional array of text, numbers or null (any element type Postgres parses from text). */
export function arrayLiteral(values: readonly ArrayElement[]): string {
  return columnLiteral(values, same);
}

/**
 * The array literal of one field of `rows` (`pick` reads it), without an array of the values in
 * between: the batched statements take one array per column, and a batch has many columns.
 * Joined, not appended to: one flat string, not a tree of a few thousand concatenations.
 */
export function columnLiteral<R>(rows: readonly R[], pick: (row: R) => ArrayElement): string {
  const parts = new Array<string>(rows.length);
  for (let i = 0; i < rows.length; i++) parts[i] = element(pick(rows[i]!));
  return `{${parts.join(',')}}`;
}

/** The literal of a `bytea[]`: hex escapes, as pg writes them. */
export function byteaArrayLiteral(values: ReadonlyArray<Uint8Array | null>): string {
  return byteaColumnLiteral(values, same);
}

/** The `bytea[]` literal of one field of `rows`, as `columnLiteral` for text. */
export function byteaColumnLiteral<R>(rows: readonly R[], pick: (row: R) => Uint8Array | null): string {
  const parts = new Array<string>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const v = pick(rows[i]!);
    // Unquoted, a backslash escapes the next character: `\\x…` is the text `\x…`, bytea's hex form.
    parts[i] = v == null ? 'NULL' : `\\\\x${hex(v)}`;
  }
  return `{${parts.join(',')}}`;
}

const hex = (v: Uint8Array): string => (Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength)).toString('hex');

// JS Dates reach ±8.64e15 ms (year 275760), inside timestamptz's upper bound; NaN does not serialise.
const MAX_DATE_MS = 8.64e15;
// 0001-01-01T00:00:00Z and 10000-01-01T00:00:00Z: toISOString's plain four-digit years.
const FIRST_PLAIN_MS = -62_135_596_800_000;
const AFTER_PLAIN_MS = 253_402_300_800_000;

/** `ms` if it is a date a JS Date can hold (finite, within ±8.64e15 ms), else null: what a timestamptz element may carry. */
export function dateMs(ms: number | null): number | null {
  return ms === null || !Number.isFinite(ms) || Math.abs(ms) > MAX_DATE_MS ? null : ms;
}

/**
 * A `timestamptz` element (UTC ISO 8601) for ms since the epoch; null for a value that is no date.
 * Years outside 1–9999 are written as Postgres reads them (no `+` sign; `BC` for year 0 and
 * before), so an out-of-range date is refused by Postgres, as a Date parameter would be.
 */
export function timestampText(value: number | null): string | null {
  const ms = dateMs(value);
  if (ms === null) return null;
  if (ms >= FIRST_PLAIN_MS && ms < AFTER_PLAIN_MS && Number.isInteger(ms)) return plainTimestamp(ms);
  const iso = new Date(ms).toISOString();
  if (ms >= FIRST_PLAIN_MS && ms < AFTER_PLAIN_MS) return iso;
  const cut = iso.indexOf('-', 1);
  const year = Number(iso.slice(0, cut));
  const rest = iso.slice(cut);
  return year >= 1 ? `${year}${rest}` : `${String(1 - year).padStart(4, '0')}${rest} BC`;
}

// The rows of one batch carry a few distinct seconds (event time, attempt start, retry due): the
// text up to the second is kept for the last few, so most elements are a lookup and a short
// concatenation instead of a Date and toISOString (which showed in the profile).
const SECOND_SLOTS = 8;
const slotSecond = new Float64Array(SECOND_SLOTS).fill(Number.NaN);
const slotPrefix: string[] = Array.from({ length: SECOND_SLOTS }, () => '');

function plainTimestamp(ms: number): string {
  const second = Math.floor(ms / 1000);
  const milli = ms - second * 1000;
  const slot = ((second % SECOND_SLOTS) + SECOND_SLOTS) % SECOND_SLOTS;
  if (slotSecond[slot] !== second) {
    slotSecond[slot] = second;
    slotPrefix[slot] = new Date(second * 1000).toISOString().slice(0, 20); // 'YYYY-MM-DDTHH:MM:SS.'
  }
  return `${slotPrefix[slot]}${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}Z`;
}
