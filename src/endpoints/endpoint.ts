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
}

/** The event type that subscribes an endpoint to every event. */
export const ALL_EVENT_TYPES = '*';

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
