/**
 * Reading what a receiver answered, bounded: a slice of the body (bytes), and the headers the
 * outcome depends on. A receiver is untrusted: an endless, huge or compressed body costs at most
 * the read limit (undici's dispatch does not decompress, so a gzip bomb stays its wire size), and
 * a slow one at most the attempt's deadline, which aborts the read (attempt-handler.ts reads it).
 */
import { StringDecoder } from 'node:string_decoder';
import { util } from 'undici';

/**
 * The kept start of a response body as text: StringDecoder.write holds back a multi-byte sequence
 * cut by the store limit instead of emitting a replacement character for it; other invalid
 * sequences become U+FFFD. Null when nothing is left.
 */
export function keptText(kept: Buffer): string | null {
  let text = new StringDecoder('utf8').write(kept);
  // Postgres text cannot hold NUL; the result is also the attempt row.
  if (text.includes('\0')) text = text.replaceAll('\0', '\uFFFD');
  return text === '' ? null : text;
}

/** The first value of response header `name` (lowercase) in undici's raw (name, value, …) list. */
export function rawHeaderValue(rawHeaders: Buffer[] | null, name: string): string | undefined {
  if (rawHeaders === null) return undefined;
  const value = util.parseHeaders(rawHeaders)[name];
  return Array.isArray(value) ? value[0] : value;
}

/** `Retry-After` as ms from now: delay-seconds or an HTTP-date (a past date gives 0); null if absent or malformed. */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | null {
  if (value === undefined) return null;
  const text = value.trim();
  if (text === '') return null;
  if (/^\d+$/.test(text)) return Math.min(Number(text) * 1000, Number.MAX_SAFE_INTEGER);
  const at = Date.parse(text);
  return Number.isNaN(at) ? null : Math.max(0, at - nowMs);
}

/**
 * Where a redirect pointed, as an origin only: the Location's path and query may carry a token,
 * and the message goes to the delivery log and log lines.
 */
export function redirectTarget(location: string | undefined, base: string): string | null {
  if (location === undefined) return null;
  try {
    const u = new URL(location, base);
    return `${u.protocol}//${u.host}`;
  } catch {
    return 'an invalid URL';
  }
}
