import type { Logger } from 'pino';
import type pg from 'pg';
import { DEPENDENCY_BACKOFF } from '../config.ts';
import { retrying } from '../util/backoff.ts';
import { isDataError, sqlState } from '../db/pg-errors.ts';
import { WebhooksError } from '../errors.ts';
import {
  FLUSH_SQL,
  flushParams,
  replaceRefusedFields,
  type AttemptRecord,
  type DeliveryRecord,
  type LogRows,
} from './delivery-log-rows.ts';

export type { AttemptRecord, DeliveryRecord } from './delivery-log-rows.ts';

export class LogWriterClosedError extends WebhooksError {
  override readonly code = 'WH_LOG_WRITER_CLOSED';
}

export interface DeliveryLogWriterOptions {
  pool: pg.Pool;
  logger: Logger;
  /** Most records written by one statement. */
  batchSize: number;
  /** Longest a record waits for its batch to fill, ms. */
  flushIntervalMs: number;
  /** Observers for metrics. */
  onFlush?: (rows: number, seconds: number) => void;
  onFlushError?: (err: unknown) => void;
  onQueueChange?: (queued: number) => void;
}

/**
 * A queued record, settled once: by its write, or by its caller's signal. A class with methods, not
 * an object of closures: one is made per delivery on the hot path.
 */
type Settle = { resolve: () => void; reject: (err: unknown) => void };

class Pending implements LogRows {
  settled = false;
  readonly delivery: DeliveryRecord;
  readonly attempt: AttemptRecord | null;
  readonly #done: Settle;
  /** A refused record with its fields replaced: refused again, it is given up. */
  readonly replaced: boolean;
  /** The caller's signal, while the writer watches it for this record. */
  signal: AbortSignal | null = null;
  /** Told when this record settles (the writer stops watching its signal). */
  onSettled: ((p: Pending) => void) | null = null;

  constructor(rows: LogRows, done: Settle, replaced = false) {
    this.delivery = rows.delivery;
    this.attempt = rows.attempt;
    this.#done = done;
    this.replaced = replaced;
  }

  resolve(): void {
    if (this.#settle()) this.#done.resolve();
  }

  reject(err: unknown): void {
    if (this.#settle()) this.#done.reject(err);
  }

  #settle(): boolean {
    if (this.settled) return false;
    this.settled = true;
    this.onSettled?.(this);
    return true;
  }
}

/**
 * The delivery log writer: records are queued and written in batches (one multi-row statement per
 * batch); `record()` resolves once its rows are durable, which is what lets the caller settle the
 * Kafka offset.
 *
 * A write that fails for a transient reason (connection lost, timeout, server shutting down) is
 * retried with backoff for as long as it takes. A batch the server refuses for its data (SQLSTATE
 * class 22 or 23) is split until the refused row is alone; that row is stored with its bad fields
 * replaced (or, if even that is refused, dropped) and logged once, so one bad row never blocks the
 * others, nor the commits waiting on them.
 */
export class DeliveryLogWriter {
  readonly #o: DeliveryLogWriterOptions;
  #queue: Pending[] = [];
  #timer: NodeJS.Timeout | null = null;
  #flushing: Promise<void> | null = null;
  #inFlight: Pending[] = [];
  #closed = false;
  #abort = new AbortController();
  readonly #watched = new Map<AbortSignal, { set: Set<Pending>; onAbort: () => void }>();

  constructor(options: DeliveryLogWriterOptions) {
    this.#o = options;
  }

  get queued(): number {
    return this.#queue.length;
  }

  /**
   * Queues a delivery state (and its attempt, if one was made); resolves once written. `signal`
   * rejects the promise with its reason (the rows may or may not be written then).
   */
  record(delivery: DeliveryRecord, attempt: AttemptRecord | null, signal?: AbortSignal): Promise<void> {
    if (this.#closed) return Promise.reject(new LogWriterClosedError('delivery log writer is closed'));
    if (signal?.aborted) return Promise.reject(signal.reason);
    const done = Promise.withResolvers<void>();
    const p = new Pending({ delivery, attempt }, done);
    if (signal) this.#watch(p, signal);
    this.#queue.push(p);
    this.#o.onQueueChange?.(this.#queue.length);
    if (this.#queue.length >= this.#o.batchSize) this.#kick();
    else this.#timer ??= setTimeout(() => this.#kick(), this.#o.flushIntervalMs);
    return done.promise;
  }

  // Callers share a few long-lived signals (one per consumer generation): one abort listener per
  // signal while any of its records waits, not one added and removed per record.
  #watch(p: Pending, signal: AbortSignal): void {
    let waiting = this.#watched.get(signal);
    if (!waiting) {
      const set = new Set<Pending>();
      const onAbort = (): void => {
        this.#watched.delete(signal);
        const queued = this.#queue.length;
        this.#queue = this.#queue.filter((q) => !set.has(q));
        if (this.#queue.length !== queued) this.#o.onQueueChange?.(this.#queue.length);
        for (const q of set) {
          q.onSettled = null;
          q.reject(signal.reason);
        }
      };
      waiting = { set, onAbort };
      this.#watched.set(signal, waiting);
      signal.addEventListener('abort', onAbort, { once: true });
    }
    waiting.set.add(p);
    p.signal = signal;
    p.onSettled = this.#unwatch;
  }

  readonly #unwatch = (p: Pending): void => {
    const signal = p.signal!;
    const waiting = this.#watched.get(signal);
    if (!waiting?.set.delete(p) || waiting.set.size > 0) return;
    signal.removeEventListener('abort', waiting.onAbort);
    this.#watched.delete(signal);
  };

  /** Writes everything queued so far. */
  async flush(): Promise<void> {
    while ((this.#queue.length > 0 || this.#flushing) && !this.#abort.signal.aborted) {
      this.#kick();
      await this.#flushing;
    }
  }

  #kick(): void {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    if (this.#flushing || this.#queue.length === 0 || this.#abort.signal.aborted) return;
    this.#flushing = this.#drain().finally(() => {
      this.#flushing = null;
      if (this.#queue.length > 0) {
        if (this.#queue.length >= this.#o.batchSize || this.#closed) this.#kick();
        else this.#timer ??= setTimeout(() => this.#kick(), this.#o.flushIntervalMs);
      }
    });
  }

  async #drain(): Promise<void> {
    const batch = this.#queue.splice(0, this.#o.batchSize);
    this.#o.onQueueChange?.(this.#queue.length);
    this.#inFlight = batch;
    try {
      await this.#write(batch);
    } finally {
      this.#inFlight = [];
    }
  }

  /** Writes `batch`, settling each of its records. */
  async #write(batch: Pending[]): Promise<void> {
    let seconds = 0;
    try {
      await retrying(
        async () => {
          const started = performance.now();
          // Named: each connection parses and plans the statement once, then only binds and executes it.
          await this.#o.pool.query({ name: 'webhooks_flush_delivery_log', text: FLUSH_SQL, values: flushParams(batch) });
          seconds = (performance.now() - started) / 1000;
        },
        {
          ...DEPENDENCY_BACKOFF,
          jitter: true,
          signal: this.#abort.signal,
          retryable: (err) => !isDataError(err),
          onRetry: ({ error, failures, delayMs }) => {
            this.#o.onFlushError?.(error);
            if (failures === 1 || failures % 10 === 0) {
              this.#o.logger.warn({ err: error, rows: batch.length, failures, retryInMs: delayMs }, 'delivery log write failed; retrying');
            }
          },
        },
      );
    } catch (err) {
      if (!isDataError(err)) {
        for (const p of batch) p.reject(new LogWriterClosedError('delivery log writer closed before the row was written', { cause: err }));
        return;
      }
      this.#o.onFlushError?.(err);
      if (batch.length === 1) return batch[0]!.replaced ? batch[0]!.reject(err) : this.#writeRefused(batch[0]!, err);
      const half = Math.ceil(batch.length / 2);
      await this.#write(batch.slice(0, half));
      return this.#write(batch.slice(half));
    }
    this.#o.onFlush?.(batch.length, seconds);
    for (const p of batch) p.resolve();
  }

  /** One record the server refused for its data: stored with its bad fields replaced, else dropped. */
  async #writeRefused(p: Pending, refusal: unknown): Promise<void> {
    const state = sqlState(refusal) ?? 'unknown';
    const log = this.#o.logger.child({ deliveryId: p.delivery.deliveryId, endpointId: p.delivery.endpointId, sqlState: state });
    let outcome: unknown = null;
    const replaced = new Pending(
      replaceRefusedFields(p, state),
      { resolve: () => (outcome = 'stored'), reject: (err: unknown) => (outcome = err) },
      true,
    );
    await this.#write([replaced]);
    if (outcome instanceof LogWriterClosedError) return p.reject(outcome);
    if (outcome === 'stored') {
      log.warn({ err: refusal }, 'delivery log row refused by Postgres; stored with its bad fields replaced');
    } else {
      // A constraint no replacement satisfies: the row is lost to the log, but the delivery (and
      // the commit of its offset) is not held back for it.
      log.error({ err: refusal, again: outcome }, 'delivery log row refused by Postgres even with its fields replaced; not stored');
    }
    p.resolve();
  }

  /**
   * Flushes what is queued and refuses new records. Past `deadline` (an AbortSignal, or ms from
   * now), with the database still unreachable, every record not yet written is rejected (their
   * offsets are then not committed) and close returns without waiting for the database.
   */
  async close(deadline?: AbortSignal | number): Promise<void> {
    this.#closed = true;
    const signal = typeof deadline === 'number' ? AbortSignal.timeout(deadline) : deadline;
    const onAbort = (): void => this.#abort.abort();
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
    const aborted = new Promise<void>((resolve) => {
      if (this.#abort.signal.aborted) resolve();
      else this.#abort.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    try {
      await Promise.race([this.flush(), aborted]);
    } finally {
      signal?.removeEventListener('abort', onAbort);
      if (this.#timer) clearTimeout(this.#timer);
      const unwritten = [...this.#queue.splice(0), ...this.#inFlight];
      for (const p of unwritten) p.reject(new LogWriterClosedError('delivery log writer closed before the row was written'));
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
