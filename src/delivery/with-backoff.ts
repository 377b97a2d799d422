import type { Logger } from 'pino';
import { DEPENDENCY_BACKOFF, UNCLASSIFIED_ATTEMPTS } from '../config.ts';
import { HandlerFailedError } from '../errors.ts';
import { retryingAfter, type BackoffPolicy } from '../util/backoff.ts';
import { dependencyErrorKind } from '../util/error-kind.ts';

/** Sees dependency retries, for metrics and readiness. */
export interface BackoffObserver {
  /** One failed try of `what` that will be tried again. */
  retried(what: string): void;
  /** An operation started (+1) or stopped (-1) waiting for a dependency. */
  waiting(delta: 1 | -1): void;
}

/**
 * Runs `fn`, a call to a dependency (Postgres, the broker, the schema registry), until it
 * succeeds. A transient failure is retried with backoff (DEPENDENCY_BACKOFF) for as long as the
 * dependency is down; a permanent one (poison, data Postgres refuses) is rethrown at once; one
 * nobody classified is tried UNCLASSIFIED_ATTEMPTS times and then thrown as HandlerFailedError,
 * so the message is quarantined instead of freezing its partition. `signal` ends the wait
 * (shutdown, rebalance) by rejecting with its reason.
 */
export function withBackoff<T>(fn: () => Promise<T>, options: WithBackoffOptions): Promise<T> {
  return withBackoffCall(fn, undefined, undefined, options, options.signal);
}

type WithBackoffOptions = {
  signal: AbortSignal;
  logger: Logger;
  what: string;
  policy?: BackoffPolicy;
  observer?: BackoffObserver | undefined;
};

/** What a call site of `withBackoffCall` gives every call: built once, not per call. */
export type BackoffSite = Omit<WithBackoffOptions, 'signal'>;

/**
 * `withBackoff` for a call made per message: `call(a, b)` is tried once without a closure or an
 * options object made for it; only a failure makes them, and goes on exactly as withBackoff does.
 */
export async function withBackoffCall<A, B, T>(
  call: (a: A, b: B) => Promise<T>,
  a: A,
  b: B,
  site: BackoffSite,
  signal: AbortSignal,
): Promise<T> {
  if (signal.aborted) throw signal.reason;
  try {
    // The common case, a dependency that answers, makes no retry state: only a failure does.
    return await call(a, b);
  } catch (first) {
    return afterFailure(first, () => call(a, b), { ...site, signal });
  }
}

async function afterFailure<T>(first: unknown, fn: () => Promise<T>, options: WithBackoffOptions): Promise<T> {
  const { logger, what, observer } = options;
  let waiting = false;
  let unknown = 0;
  try {
    return await retryingAfter(first, fn, {
      ...(options.policy ?? DEPENDENCY_BACKOFF),
      signal: options.signal,
      retryable: (err) => {
        const kind = dependencyErrorKind(err);
        if (kind === 'unknown') unknown++;
        return kind === 'transient' || (kind === 'unknown' && unknown < UNCLASSIFIED_ATTEMPTS);
      },
      onRetry: ({ error, failures, delayMs }) => {
        if (!waiting) {
          waiting = true;
          observer?.waiting(1);
        }
        observer?.retried(what);
        if (failures === 1 || failures % 10 === 0) logger.warn({ err: error, failures, retryInMs: delayMs }, `${what} failed; backing off`);
      },
      onRecovered: ({ failures }) => logger.info({ failures }, `${what}: recovered`),
    });
  } catch (err) {
    if (options.signal.aborted || dependencyErrorKind(err) !== 'unknown') throw err;
    throw new HandlerFailedError(`${what} failed ${unknown} times with an unclassified error`, { cause: err });
  } finally {
    if (waiting) observer?.waiting(-1);
  }
}
