/**
 * Paces the requests to each endpoint that has a `max_per_second`, and holds back an endpoint that
 * answered 429 with `Retry-After`. In-process: each dispatcher paces its own requests.
 *
 * The bucket is a GCRA (the virtual-scheduling form of a token bucket): one token every
 * `1000 / rate` ms, and a burst of `max(1, floor(rate))` tokens, so over any window of L seconds
 * an endpoint receives at most `burst + L × rate` requests.
 *
 * `admit` answers how long a delivery must wait. A wait within the caller's budget takes the
 * token (the caller sleeps, then sends); a longer one takes nothing, and the caller parks the
 * delivery durably with `park`, which spaces the parked deliveries one token apart so they do not
 * come back all at once. New work arriving while parked deliveries are queued parks behind them
 * instead of taking the tokens they come back for.
 *
 * A 429 stops the endpoint's tokens until its `Retry-After` (bounded by `maxPauseMs`) and halves
 * its rate, down to a sixteenth; each `recoveryMs` without a 429 doubles it back. An endpoint
 * without a rate gets the pause only. An endpoint with neither a rate nor a pause has no state
 * here, so the unlimited path costs a size check and nothing else.
 */
interface Bucket {
  /** The configured rate, requests per second; null: only a 429 pause. */
  rate: number | null;
  /** Theoretical arrival time of the next request (GCRA), ms. */
  tat: number;
  /** The due time after the last parked delivery's, ms. */
  parkedUntil: number;
  /** No tokens before this (a 429's Retry-After), ms. */
  pausedUntil: number;
  /** The share of `rate` in force after 429s: 1, 1/2, … 1/16. */
  factor: number;
  /** The last 429 or recovery step, ms. */
  slowedAt: number;
}

/** Why a delivery waits: its endpoint's rate, or a 429's Retry-After. */
export type ThrottleReason = 'rate' | 'retry_after';

/** The status reason of a delivery parked for each ThrottleReason (`throttled:` marks them all). */
export const THROTTLED_REASONS: Readonly<Record<ThrottleReason, string>> = {
  rate: 'throttled: endpoint rate limit',
  retry_after: 'throttled: endpoint asked to wait (429 Retry-After)',
};

const MIN_FACTOR = 1 / 16;

export interface EndpointThrottleOptions {
  /** Longest pause a Retry-After may impose, ms. */
  maxPauseMs: number;
  /** After a 429, each this long without another doubles the halved rate back, ms. */
  recoveryMs: number;
  now?: () => number;
}

export class EndpointThrottle {
  readonly #buckets = new Map<string, Bucket>();
  readonly #maxPauseMs: number;
  readonly #recoveryMs: number;
  readonly #now: () => number;

  constructor(options: EndpointThrottleOptions) {
    this.#maxPauseMs = options.maxPauseMs;
    this.#recoveryMs = options.recoveryMs;
    this.#now = options.now ?? Date.now;
  }

  /**
   * How long a request to the endpoint must wait, ms (0: send now). When the wait is at most
   * `budgetMs` the token is taken; otherwise nothing is taken and the caller should `park`.
   * `returning` is true for a delivery coming back from being parked: it does not queue behind
   * the other parked ones.
   */
  admit(endpointId: string, rate: number | null | undefined, budgetMs: number, returning = false): number {
    if (this.#buckets.size === 0 && (rate === null || rate === undefined)) return 0;
    const now = this.#now();
    const b = this.#bucket(endpointId, rate ?? null, now);
    if (!b) return 0;
    const start = Math.max(now, b.pausedUntil);
    if (b.rate === null) return start - now;
    const interval = this.#interval(b, now);
    const tolerance = (Math.max(1, Math.floor(b.rate)) - 1) * interval;
    const tat = Math.max(b.tat, start);
    let wait = Math.max(start, tat - tolerance) - now;
    if (!returning && b.parkedUntil - now > budgetMs) wait = Math.max(wait, b.parkedUntil - now);
    if (wait <= budgetMs) b.tat = tat + interval;
    return wait;
  }

  /** The due time of a delivery parked for at least `waitMs`, a token after the last one parked. */
  park(endpointId: string, waitMs: number): number {
    const now = this.#now();
    const b = this.#buckets.get(endpointId);
    if (!b) return now + waitMs;
    const due = Math.max(now + waitMs, b.parkedUntil);
    b.parkedUntil = b.rate === null ? due : due + this.#interval(b, now);
    return due;
  }

  /** Why the endpoint's deliveries wait now. */
  reason(endpointId: string): ThrottleReason {
    const b = this.#buckets.get(endpointId);
    return b && b.pausedUntil > this.#now() ? 'retry_after' : 'rate';
  }

  /**
   * The endpoint answered 429: no tokens until `retryAfterMs` from now (at most maxPauseMs; none
   * when the header was absent), and its rate halved.
   */
  slowDown(endpointId: string, rate: number | null | undefined, retryAfterMs: number | null): void {
    if ((rate === null || rate === undefined) && !retryAfterMs) return;
    const now = this.#now();
    const b = this.#bucket(endpointId, rate ?? null, now, true)!;
    if (retryAfterMs) b.pausedUntil = Math.max(b.pausedUntil, now + Math.min(retryAfterMs, this.#maxPauseMs));
    if (b.rate !== null) {
      b.factor = Math.max(MIN_FACTOR, b.factor / 2);
      b.slowedAt = now;
    }
  }

  /** Endpoints with throttle state (a rate or a pause), for tests. */
  get size(): number {
    return this.#buckets.size;
  }

  #bucket(endpointId: string, rate: number | null, now: number, create = false): Bucket | undefined {
    let b = this.#buckets.get(endpointId);
    if (!b) {
      if (rate === null && !create) return undefined;
      b = { rate, tat: now, parkedUntil: now, pausedUntil: 0, factor: 1, slowedAt: now };
      this.#buckets.set(endpointId, b);
      return b;
    }
    if (rate !== b.rate) {
      // The admin changed the limit: start the new rate afresh.
      b.rate = rate;
      b.tat = Math.min(b.tat, now);
      b.factor = 1;
    }
    if (b.rate === null && b.pausedUntil <= now && b.parkedUntil <= now && !create) {
      this.#buckets.delete(endpointId);
      return undefined;
    }
    return b;
  }

  /** ms between tokens at the rate in force, stepping a halved rate back up as time passes. */
  #interval(b: Bucket, now: number): number {
    while (b.factor < 1 && now - b.slowedAt >= this.#recoveryMs) {
      b.factor = Math.min(1, b.factor * 2);
      b.slowedAt += this.#recoveryMs;
    }
    return 1000 / (b.rate! * b.factor);
  }
}
