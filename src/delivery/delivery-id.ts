import { hash } from 'node:crypto';

// Namespace of delivery ids (a fixed random UUID). Changing it would re-send every replayed event.
const NAMESPACE = Buffer.from('6f1c1f3e8d4b4b7a9a3e2f55c0d7b1a4', 'hex');

// The hash input is assembled here and hashed in one call: crypto.hash skips the Hash object and
// its update() calls, which cost more than SHA-1 of these few bytes. Grown on demand, never shared
// across a call (the work is synchronous).
let scratch = Buffer.allocUnsafe(512);
NAMESPACE.copy(scratch);

/**
 * The delivery id: a UUID v5 (RFC 9562) of the event id and the endpoint id, so the same event
 * replayed after a crash finds the delivery it already made. It is also the `webhook-id` header.
 * With `bodyDigest`, the id of a different event that has the same event id (see
 * `webhooks.deliveries.body_digest`): it depends on the body too, so it cannot collide again.
 * The SHA-1 input is NAMESPACE, the event id (UTF-8), "\n", the endpoint id, then "\n" and the digest.
 */
export function deliveryId(eventId: string, endpointId: string, bodyDigest?: Buffer): string {
  // UTF-8 takes at most 3 bytes per UTF-16 unit.
  const most = 16 + 3 * (eventId.length + endpointId.length) + 2 + (bodyDigest?.length ?? 0);
  if (most > scratch.length) {
    scratch = Buffer.allocUnsafe(most * 2);
    NAMESPACE.copy(scratch);
  }
  let n = 16;
  n += scratch.write(eventId, n, 'utf8');
  scratch[n++] = 0x0a;
  n += scratch.write(endpointId, n, 'utf8');
  if (bodyDigest) {
    scratch[n++] = 0x0a;
    n += bodyDigest.copy(scratch, n);
  }
  const h = hash('sha1', scratch.subarray(0, n), 'buffer');
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const hex = h.toString('hex', 0, 16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** SHA-256 of the webhook body: the same event id with another digest is another event. */
export function bodyDigest(body: Buffer): Buffer {
  return hash('sha256', body, 'buffer');
}
