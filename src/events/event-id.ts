import type { IHeaders } from 'kafkajs';

/** Longest event id taken from a producer's `event-id` header, characters. */
export const MAX_EVENT_ID_CHARS = 200;

// C0 and C1 controls (NUL included), DEL, and U+FFFD, which is what bytes that were not UTF-8 become.
const isUnusable = (c: number): boolean => c <= 0x1f || (c >= 0x7f && c <= 0x9f) || c === 0xfffd;

/**
 * The producer's event id from the `event-id` header, or undefined when the header is absent,
 * empty, longer than MAX_EVENT_ID_CHARS, or holds control characters or bytes that are not
 * UTF-8. An unusable id counts as absent, so the event gets the offset-derived id: two different
 * events with the same empty (or mangled) header must never share one delivery id.
 */
export function producerEventId(headers: IHeaders | undefined): string | undefined {
  const raw = headers?.['event-id'];
  const one = Array.isArray(raw) ? raw[0] : raw;
  if (one === undefined || one === null) return undefined;
  const id = Buffer.isBuffer(one) ? one.toString('utf8') : String(one);
  if (id.length === 0 || id.length > MAX_EVENT_ID_CHARS || id.trim() === '') return undefined;
  if (!id.isWellFormed()) return undefined;
  for (let i = 0; i < id.length; i++) if (isUnusable(id.charCodeAt(i))) return undefined;
  return id;
}
