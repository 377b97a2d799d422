import type { ClaimRequest } from '../log/delivery-claims.ts';
import { deliveryId } from './delivery-id.ts';

type Fields = Omit<ClaimRequest, 'deliveryId' | 'collisionId'>;

/**
 * The claim of a first attempt. The collision id (a second SHA-1 per delivery) is hashed only when
 * the claim asks for it, on a collision. A class, not an object literal with a getter: a getter in
 * a literal is a new accessor per object, which made every claim object a shape of its own.
 */
export class FirstAttemptClaim implements ClaimRequest {
  readonly deliveryId: string;
  readonly endpointId: string;
  readonly eventId: string;
  readonly eventType: string;
  readonly eventTimestampMs: number;
  readonly bodyDigest: Buffer;
  readonly source: ClaimRequest['source'];
  #collisionId: string | null = null;

  constructor(fields: Fields) {
    this.deliveryId = deliveryId(fields.eventId, fields.endpointId);
    this.endpointId = fields.endpointId;
    this.eventId = fields.eventId;
    this.eventType = fields.eventType;
    this.eventTimestampMs = fields.eventTimestampMs;
    this.bodyDigest = fields.bodyDigest;
    this.source = fields.source;
  }

  get collisionId(): string {
    return (this.#collisionId ??= deliveryId(this.eventId, this.endpointId, this.bodyDigest));
  }
}
