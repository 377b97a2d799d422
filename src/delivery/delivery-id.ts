import { createHash } from 'node:crypto';

// Namespace of delivery ids (a fixed random UUID). Changing it would re-send every replayed event.
const NAMESPACE = Buffer.from('6f1c1f3e8d4b4b7a9a3e2f55c0d7b1a4', 'hex');

/**
 * The delivery id: a UUID v5 (RFC 9562) of the event id and the endpoint id, so the same event
 * replayed after a crash finds the delivery it already made. It is also the `webhook-id` header.
 * With `bodyDigest`, the id of a different event that has the same event id (see
 * `webhooks.deliveries.body_digest`): it depends on the body too, so it cannot collide again.
 */
export function deliveryId(eventId: string, endpointId: string, bodyDigest?: Buffer): string {
  const h = createHash('sha1').update(NAMESPACE).update(eventId).update('\n').update(endpointId);
  if (bodyDigest) h.update('\n').update(bodyDigest);
  const hash = h.digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.toString('hex', 0, 16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** SHA-256 of the webhook body: the same event id with another digest is another event. */
export function bodyDigest(body: Buffer): Buffer {
  return createHash('sha256').update(body).digest();
}
