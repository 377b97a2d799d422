/**
 * The retry schedule: attempt 1 at once, then attempt n+1 after `delaysMs[n-1]` (by default 5 s,
 * 30 s, 120 s: the spec's "3 retries"). Each delay is a Kafka delay topic ("tier"); a message's
 * due time is when it was scheduled plus its tier's delay, so due times only grow along a
 * partition of a tier.
 */
export interface RetryTier {
  /** Index in the schedule, 0-based. */
  index: number;
  delayMs: number;
  /** Label and topic suffix, e.g. "5s", "2m", "250ms". */
  label: string;
}

export type RetryDecision = { kind: 'retry'; tier: RetryTier; nextAttempt: number; dueAtMs: number } | { kind: 'dead'; reason: string };

export function tierLabel(delayMs: number): string {
  if (delayMs % 3_600_000 === 0) return `${delayMs / 3_600_000}h`;
  if (delayMs % 60_000 === 0 && delayMs >= 600_000) return `${delayMs / 60_000}m`;
  if (delayMs % 1000 === 0) return `${delayMs / 1000}s`;
  return `${delayMs}ms`;
}

export function retryTiers(delaysMs: readonly number[]): RetryTier[] {
  return delaysMs.map((delayMs, index) => ({ index, delayMs, label: tierLabel(delayMs) }));
}

/**
 * What follows a failed attempt number `attempt` (1-based) that failed at `nowMs`.
 * `retryAfterMs` (from a 429/503 Retry-After) moves the retry to the first later-or-equal tier
 * whose delay covers it, so the receiver's wish is honoured within the schedule's tiers; when no
 * tier is long enough the longest one is used. A permanent failure (410 Gone) is dead at once, and
 * so is one that is not retryable (the egress guard or REQUIRE_HTTPS refused it: nothing was sent,
 * and trying again later would be refused the same way).
 */
export function decideRetry(
  tiers: readonly RetryTier[],
  attempt: number,
  nowMs: number,
  options: { retryAfterMs?: number | null; permanent?: boolean; retryable?: boolean } = {},
): RetryDecision {
  if (options.permanent) return { kind: 'dead', reason: 'permanent failure (410 Gone)' };
  if (options.retryable === false) return { kind: 'dead', reason: 'refused before sending (not retried)' };
  if (attempt > tiers.length) return { kind: 'dead', reason: `failed ${attempt} attempts` };
  let tier = tiers[attempt - 1]!;
  const wanted = options.retryAfterMs ?? 0;
  if (wanted > tier.delayMs) {
    tier = tiers.find((t) => t.index >= tier.index && t.delayMs >= wanted) ?? tiers.reduce((a, b) => (b.delayMs > a.delayMs ? b : a));
  }
  return { kind: 'retry', tier, nextAttempt: attempt + 1, dueAtMs: nowMs + tier.delayMs };
}

/**
 * Where a delivery parked by its endpoint's rate limit waits `waitMs`: the shortest tier at least
 * that long (the longest when none is), and its due time, never later than the tier's delay from
 * now. Due times then still only grow along a partition of the tier as far as its pause is
 * concerned: a parked message is never due after one scheduled on the tier later, so it never
 * holds back the retries behind it. A wait longer than every tier comes back and parks again.
 */
export function parkTier(tiers: readonly RetryTier[], waitMs: number, nowMs: number): { tier: RetryTier; dueAtMs: number } {
  const tier = tiers.find((t) => t.delayMs >= waitMs) ?? tiers.reduce((a, b) => (b.delayMs > a.delayMs ? b : a));
  return { tier, dueAtMs: nowMs + Math.min(waitMs, tier.delayMs) };
}
