import type { Logger } from 'pino';
import { DEPENDENCY_BACKOFF } from '../config.ts';
import { InvalidEventError } from '../errors.ts';
import { retrying, type BackoffPolicy } from '../util/backoff.ts';

/**
 * Runs `fn` until it succeeds, backing off exponentially (DEPENDENCY_BACKOFF) while a dependency
 * (Postgres, the broker, the schema registry) is unavailable. Poison (`InvalidEventError`) is
 * rethrown at once; `signal` ends the wait (shutdown) by rejecting with its reason.
 */
export function withBackoff<T>(
  fn: () => Promise<T>,
  options: { signal: AbortSignal; logger: Logger; what: string; policy?: BackoffPolicy },
): Promise<T> {
  const { logger, what } = options;
  return retrying(fn, {
    ...(options.policy ?? DEPENDENCY_BACKOFF),
    signal: options.signal,
    retryable: (err) => !(err instanceof InvalidEventError),
    onRetry: ({ error, failures, delayMs }) => {
      if (failures === 1 || failures % 10 === 0) logger.warn({ err: error, failures, retryInMs: delayMs }, `${what} failed; backing off`);
    },
    onRecovered: ({ failures }) => logger.info({ failures }, `${what}: recovered`),
  });
}
