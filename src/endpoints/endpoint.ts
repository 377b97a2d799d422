import type { EndpointOrdering } from '../db/database.ts';
import type { EndpointHeaders } from './endpoint-headers.ts';
import { isUuid } from '../util/uuid.ts';

/**
 * A webhook endpoint as the dispatcher holds it in memory: the columns of `webhooks.endpoints`
 * that matching, signing and delivering need, with times as ms since the epoch.
 */
export interface Endpoint {
  id: string;
  name: string;
  url: string;
  /** The current signing secret, exactly as stored (usually `whsec_<base64 of 32 bytes>`). */
  secret: string;
  /** The secret before the last rotation; still signed with until `previousSecretExpiresAt`. */
  previousSecret: string | null;
  /** End of the rotation overlap, ms since the epoch; null means no overlap. */
  previousSecretExpiresAt: number | null;
  /** Subscribed event types; `*` means every type. */
  eventTypes: readonly string[];
  enabled: boolean;
  /** Payload filter as stored (see payload-filter.ts); absent or null sends every subscribed event. */
  filter?: unknown;
  /** `per_key`: events with the same Kafka key reach it in offset order (absent means `none`). */
  ordering?: EndpointOrdering;
  /**
   * Extra request headers for every attempt (migration 0008), names as stored. Secrets: never
   * logged, shown masked (endpoint-headers.ts). Absent means none.
   */
  headers?: EndpointHeaders;
  /** Requests per second from this dispatcher (a token bucket); absent or null is unlimited. */
  maxPerSecond?: number | null;
  /** Requests in flight at once from this dispatcher; absent or null is ENDPOINT_CONCURRENCY. */
  maxInFlight?: number | null;
}

/** The event type that subscribes an endpoint to every event. */
export const ALL_EVENT_TYPES = '*';

/** True when the endpoint is subscribed to events of `eventType` (by name or through `*`). */
export function subscribesTo(endpoint: Endpoint, eventType: string): boolean {
  return endpoint.eventTypes.includes(ALL_EVENT_TYPES) || endpoint.eventTypes.includes(eventType);
}

/**
 * Secrets to sign with at `nowMs`: the current one first, then the previous one while its overlap
 * lasts (strictly before `previousSecretExpiresAt`). A previous secret without an expiry is not
 * used: an overlap must end, or a leaked old secret would stay valid forever.
 */
export function signingSecrets(endpoint: Endpoint, nowMs: number): string[] {
  const { secret, previousSecret, previousSecretExpiresAt } = endpoint;
  if (previousSecret !== null && previousSecret !== secret && previousSecretExpiresAt !== null && nowMs < previousSecretExpiresAt) {
    return [secret, previousSecret];
  }
  return [secret];
}

/**
 * An endpoint with every column of `webhooks.endpoints`, as the CLI and the web admin read it
 * (camelCase; `previousSecretExpiresAt` stays ms like in `Endpoint`, the row times are Dates).
 */
export type EndpointRecord = Endpoint & {
  /** Why it was disabled (an admin's text, or the dispatcher's `410 Gone …`); cleared on enable. */
  disabledReason: string | null;
  description: string | null;
  createdAt: Date;
  /** Set by the validation trigger on every write; the web admin's optimistic-concurrency token. */
  updatedAt: Date;
};

/** True when `text` can be an endpoint id (a canonical UUID); the one check for CLI, admin and service. */
export function isEndpointId(text: string): boolean {
  return isUuid(text);
}
