import type { Logger } from 'pino';
import { InvalidEventError } from '../errors.ts';

/**
 * Runs `fn` until it succeeds, backing off exponentially (200 ms doubling to 10 s) while a
 * dependency (Postgres, the broker, the schema registry) is unavailable. Poison
 * (`InvalidEventError`) is rethrown at once; `signal` ends the wait (shutdown) by rejecting.
 */
export async function withBackoff<T>(fn: () => Promise<T>, options: { signal: AbortSignal; logger: Logger; what: string }): Promise<T> {
  let delay = 200;
  let failures = 0;
  for (;;) {
    try {
      const out = await fn();
      if (failures > 0) options.logger.info({ failures }, `${options.what}: recovered`);
      return out;
    } catch (err) {
      if (err instanceof InvalidEventError) throw err;
      if (options.signal.aborted) throw options.signal.reason;
      failures++;
      if (failures === 1 || failures % 10 === 0)
        options.logger.warn({ err, failures, retryInMs: delay }, `${options.what} failed; backing off`);
      await new Promise<void>((resolve) => {
        const onAbort = (): void => {
          clearTimeout(t);
          resolve();
        };
        const t = setTimeout(() => {
          options.signal.removeEventListener('abort', onAbort);
          resolve();
        }, delay);
        options.signal.addEventListener('abort', onAbort, { once: true });
      });
      if (options.signal.aborted) throw options.signal.reason;
      delay = Math.min(delay * 2, 10_000);
    }
  }
}
