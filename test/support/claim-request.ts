import { randomUUID } from 'node:crypto';
import { bodyDigest, deliveryId } from '../../src/delivery/delivery-id.ts';
import type { ClaimRequest } from '../../src/log/delivery-claims.ts';

/** The claim of one delivery of event `eventId` with body `body` to `endpointId`, read at offset 7 of partition 0 of `in`. */
export function claimRequest(eventId: string, body: string, endpointId: string = randomUUID()): ClaimRequest {
  const digest = bodyDigest(Buffer.from(body));
  return {
    deliveryId: deliveryId(eventId, endpointId),
    collisionId: deliveryId(eventId, endpointId, digest),
    endpointId,
    eventId,
    eventType: 'call.ended',
    eventTimestampMs: Date.now(),
    bodyDigest: digest,
    source: { topic: 'in', partition: 0, offset: '7' },
  };
}
