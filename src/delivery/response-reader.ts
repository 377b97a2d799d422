/**
 * Reading what a receiver answered, bounded: a slice of the body (bytes), and the headers the
 * outcome depends on. A receiver is untrusted: an endless, huge or compressed body costs at most
 * the read limit (undici's request() does not decompress, so a gzip bomb stays its wire size), and
 * a slow one at most the attempt's deadline, which aborts the read.
 */
import { StringDecoder } from 'node:string_decoder';
import type { Dispatcher } from 'undici';

/**
 * Reads at most `readLimit` bytes and keeps the first `storeLimit` of them. A body that ends within
 * the limit is consumed, so its connection goes back to the pool; a longer one is destroyed (the
 * connection is closed), so an endless body cannot hold the attempt. A read error (deadline,
 * shutdown, reset) ends the read with what was kept so far.
 */
export async function readBody(body: Dispatcher.ResponseData['body'], readLimit: number, storeLimit: number): Promise<string | null> {
  const kept: Buffer[] = [];
  let keptBytes = 0;
  let readBytes = 0;
  try {
    if (readLimit === 0) {
      body.destroy();
    } else {
      for await (const chunk of body as AsyncIterable<Buffer>) {
        readBytes += chunk.length;
        if (keptBytes < storeLimit) {
          const part = chunk.length <= storeLimit - keptBytes ? chunk : chunk.subarray(0, storeLimit - keptBytes);
          kept.push(part);
          keptBytes += part.length;
        }
        if (readBytes >= readLimit) break; // leaving the loop destroys the body
      }
    }
  } catch {
    // Keep what was read; the stream is already destroyed.
  }
  if (keptBytes === 0) return null;
  // StringDecoder.write holds back a multi-byte sequence cut by the limit instead of emitting a
  // replacement character for it; other invalid sequences become U+FFFD.
  let text = new StringDecoder('utf8').write(kept.length === 1 ? kept[0]! : Buffer.concat(kept, keptBytes));
  // Postgres text cannot hold NUL; the result is also the attempt row.
  if (text.includes('\0')) text = text.replaceAll('\0', '\uFFFD');
  return text === '' ? null : text;
}

export function headerValue(value: string | string[] | undefined): string | undefined {
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
