import { createHash } from 'node:crypto';

// Namespace of delivery ids (a fixed random UUID). Changing it would re-send every replayed event.
const NAMESPACE = Buffer.from('6f1c1f3e8d4b4b7a9a3e2f55c0d7b1a4', 'hex');

/**
 * The delivery id: a UUID v5 (RFC 9562) of the event id and the endpoint id, so the same event
 * replayed after a crash finds the delivery it already made. It is also the `webhook-id` header.
 */
export function deliveryId(eventId: string, endpointId: string): string {
  const hash = createHash('sha1').update(NAMESPACE).update(eventId).update('\n').update(endpointId).digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const h = hash.toString('hex', 0, 16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}
