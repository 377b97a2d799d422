/**
 * Values from outside (Kafka headers, event fields, response bodies, error text) made safe for
 * Postgres before they reach SQL, so one odd byte never makes a whole batch refuse to write.
 * Postgres `text` cannot hold NUL, and a lone UTF-16 surrogate cannot be encoded as UTF-8.
 */

/** Most characters kept of an identifier-like value (event id, event type, URL, reason). */
export const SHORT_TEXT_CHARS = 2000;
/** Most characters kept of a free text (error, response body). */
export const LONG_TEXT_CHARS = 1024 * 1024;

const REPLACEMENT = '\uFFFD';

/** `s` without NUL bytes or lone surrogates (each becomes U+FFFD), at most `maxChars` long. */
export function pgText(s: string, maxChars: number): string;
export function pgText(s: string | null, maxChars: number): string | null;
export function pgText(s: string | null, maxChars: number): string | null {
  if (s === null) return null;
  // Cut first: a cut between a surrogate pair leaves a lone one, which toWellFormed replaces.
  let out = s.length > maxChars ? s.slice(0, maxChars) : s;
  if (!out.isWellFormed()) out = out.toWellFormed();
  return out.includes('\u0000') ? out.replaceAll('\u0000', REPLACEMENT) : out;
}

// JS Dates reach ±8.64e15 ms (year 275760), inside timestamptz's range; NaN does not serialise.
const MAX_DATE_MS = 8.64e15;

/** A timestamptz parameter; null for a value that is no date. */
export function pgTimestamp(ms: number | null): Date | null {
  return ms === null || !Number.isFinite(ms) || Math.abs(ms) > MAX_DATE_MS ? null : new Date(ms);
}

const INT4_MAX = 2_147_483_647;

/** An `integer` parameter: rounded and kept within int4; null for a value that is no number. */
export function pgInt(n: number | null): number | null {
  if (n === null || !Number.isFinite(n)) return null;
  return Math.max(-INT4_MAX - 1, Math.min(INT4_MAX, Math.round(n)));
}
