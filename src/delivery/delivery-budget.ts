import { TransientError } from '../errors.ts';

interface Waiter {
  weight: number;
  resolve: () => void;
  reject: (reason: unknown) => void;
  signal: AbortSignal;
  onAbort: () => void;
}

const NOW = Promise.resolve();

/**
 * A process-wide bound on deliveries in flight (MAX_IN_FLIGHT_DELIVERIES), over every input
 * partition: PARTITION_CONCURRENCY bounds messages per partition, but memory grows with the
 * deliveries they fan out to (6 partitions × 256 messages × 10 endpoints would be 15,360), and
 * beyond about ENDPOINT_CONCURRENCY × endpoints those deliveries only wait for a request slot.
 *
 * Waiters are served in arrival order (a message of many endpoints is not overtaken for ever by
 * messages of few). A weight above the capacity is clamped to it, so such a message still goes,
 * alone. `force` takes room without waiting (it may overdraw): for a message that others wait on,
 * such as one holding a per-key turn, so a full budget can never wait on itself.
 */
export class DeliveryBudget {
  readonly capacity: number;
  #used = 0;
  readonly #waiters: Waiter[] = [];

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    this.capacity = capacity;
  }

  /** Deliveries holding room now (may exceed `capacity` after `force`). */
  get used(): number {
    return this.#used;
  }

  /** Takers waiting for room. */
  get waiting(): number {
    return this.#waiters.length;
  }

  /** The weight `take` and `force` account for `deliveries`; pass it to `release`. */
  weightOf(deliveries: number): number {
    return Math.min(deliveries, this.capacity);
  }

  /** Resolves once `weight` (from `weightOf`) is taken; rejects with the signal's reason if it aborts first. */
  take(weight: number, signal: AbortSignal): Promise<void> {
    if (weight <= 0) return NOW;
    if (this.#waiters.length === 0 && this.#used + weight <= this.capacity) {
      this.#used += weight;
      return NOW;
    }
    if (signal.aborted) return Promise.reject(signal.reason ?? new TransientError('aborted'));
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        weight,
        resolve,
        reject,
        signal,
        onAbort: () => {
          const i = this.#waiters.indexOf(waiter);
          if (i >= 0) this.#waiters.splice(i, 1);
          reject(signal.reason ?? new TransientError('aborted'));
          this.#wake();
        },
      };
      signal.addEventListener('abort', waiter.onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  /** Takes `weight` at once, even past the capacity. */
  force(weight: number): void {
    this.#used += weight;
  }

  release(weight: number): void {
    this.#used -= weight;
    this.#wake();
  }

  /**
   * Runs `fn` holding room for `deliveries` (`force`: without waiting for it). `fn` calls
   * `settledOne` as each delivery settles, which gives its room back at once; what is left is
   * released when `fn` settles. So a message whose other deliveries are done holds room only for
   * the ones still pending: one waiting on a hung endpoint (its stall verdict, or its timeout)
   * holds one delivery's room, not the whole message's, and cannot fill the budget for the others.
   */
  async run<T>(deliveries: number, force: boolean, signal: AbortSignal, fn: (settledOne: () => void) => Promise<T>): Promise<T> {
    const weight = this.weightOf(deliveries);
    if (force) this.force(weight);
    else await this.take(weight, signal);
    let held = weight;
    const settledOne = (): void => {
      if (held === 0) return;
      held--;
      this.release(1);
    };
    try {
      return await fn(settledOne);
    } finally {
      if (held > 0) this.release(held);
    }
  }

  #wake(): void {
    while (this.#waiters.length > 0) {
      const next = this.#waiters[0]!;
      if (this.#used + next.weight > this.capacity) return;
      this.#waiters.shift();
      next.signal.removeEventListener('abort', next.onAbort);
      this.#used += next.weight;
      next.resolve();
    }
  }
}
