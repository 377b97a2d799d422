import type { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';

export interface WaitForOptions {
  /** Give up after this long, ms. */
  timeoutMs?: number;
  /** Pause between checks, ms. */
  intervalMs?: number;
  /** What is awaited, for the timeout message. */
  what?: string;
}

/**
 * The tests' one way to wait for a condition: polls `check` until it returns a truthy value (which
 * is returned) or `timeoutMs` passes. A check that throws counts as not yet; its last error is
 * in the timeout message.
 */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  { timeoutMs = 20_000, intervalMs = 50, what = 'condition' }: WaitForOptions = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await sleep(intervalMs);
  }
}

/**
 * Resolves with the arguments of the first `name` event whose arguments satisfy `predicate`;
 * rejects after `timeoutMs`. Create the waiter before causing the event.
 */
export function waitForEvent<E extends Record<keyof E, unknown[]>, K extends keyof E & string>(
  emitter: EventEmitter<E>,
  name: K,
  predicate: (...args: E[K]) => boolean = () => true,
  timeoutMs = 2000,
): Promise<E[K]> {
  // Untyped view: EventEmitter<E>'s listener types do not narrow through a generic K.
  const untyped = emitter as unknown as EventEmitter;
  return new Promise((resolve, reject) => {
    const listener = (...args: unknown[]): void => {
      if (!predicate(...(args as E[K]))) return;
      clearTimeout(timer);
      untyped.off(name, listener);
      resolve(args as E[K]);
    };
    const timer = setTimeout(() => {
      untyped.off(name, listener);
      reject(new Error(`no matching '${name}' event within ${timeoutMs} ms`));
    }, timeoutMs);
    untyped.on(name, listener);
  });
}
