// The module object, not a named import: node:test mock timers replace its property, which a
// binding taken at import time would not see.
import timers from 'node:timers/promises';

/** Exponential backoff: `initialMs` doubling up to `maxMs`. */
export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
  /**
   * Equal jitter: each wait is between half and all of the doubled delay, so processes that lost
   * the same server do not all come back in the same instant. Default false.
   */
  jitter?: boolean;
  /** Source of randomness for the jitter, [0, 1). Default Math.random (tests inject one). */
  random?: () => number;
}

/** The wait before retry number `failures` (1 for the first retry). */
export function backoffDelay(failures: number, policy: BackoffPolicy): number {
  const base = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.max(0, failures - 1));
  if (!policy.jitter) return base;
  return Math.round(base / 2 + (policy.random ?? Math.random)() * (base / 2));
}

/**
 * Waits `ms`, or rejects with `signal.reason` as soon as `signal` aborts (at once if it already
 * has). timers/promises adds one abort listener and removes it when the wait ends either way, so
 * a loop of sleeps on one long-lived signal leaks nothing.
 */
export async function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) throw signal.reason;
  try {
    await timers.setTimeout(ms, undefined, { signal });
  } catch (err) {
    if (signal.aborted) throw signal.reason;
    throw err;
  }
}

export interface RetryingOptions extends BackoffPolicy {
  /** Ends the retries: the pending wait (or the next one) rejects with `signal.reason`. */
  signal: AbortSignal;
  /**
   * Whether an error may be retried; a false answer rethrows it at once. `failures` counts this
   * one (1 on the first failure). Default: every error is retried.
   */
  retryable?: (error: unknown, failures: number) => boolean;
  /** Called before each wait (for logs and metrics). */
  onRetry?: (info: { error: unknown; failures: number; delayMs: number }) => void;
  /** Called once `fn` succeeds after at least one failure. */
  onRecovered?: (info: { failures: number }) => void;
}

/**
 * Runs `fn` until it resolves, waiting with exponential backoff between failures. `fn` receives
 * the attempt number (1 first). An aborted `signal` ends it with `signal.reason`, whether it is
 * waiting or `fn` has just failed; errors `retryable` refuses are rethrown unchanged.
 */
export async function retrying<T>(fn: (attempt: number) => Promise<T>, options: RetryingOptions): Promise<T> {
  const { signal } = options;
  for (let failures = 0; ;) {
    if (signal.aborted) throw signal.reason;
    let out: T;
    try {
      out = await fn(failures + 1);
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      failures++;
      if (options.retryable && !options.retryable(error, failures)) throw error;
      const delayMs = backoffDelay(failures, options);
      options.onRetry?.({ error, failures, delayMs });
      await sleep(delayMs, signal);
      continue;
    }
    if (failures > 0) options.onRecovered?.({ failures });
    return out;
  }
}

/**
 * `retrying` for an operation whose first try already failed with `first`: that failure is judged,
 * reported and waited for like any other, then `fn` is tried again. Hot paths try once with no
 * retry state (closures, options) and come here only on a failure.
 */
export function retryingAfter<T>(first: unknown, fn: (attempt: number) => Promise<T>, options: RetryingOptions): Promise<T> {
  let replay: { error: unknown } | null = { error: first };
  return retrying((attempt) => {
    if (!replay) return fn(attempt);
    const { error } = replay;
    replay = null;
    return Promise.reject(error);
  }, options);
}
