import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import type pg from 'pg';
import type { Logger } from 'pino';
import { NotifiedJob } from '../db/notified-job.ts';
import { notifiedJobOptions } from '../db/notified-job-options.ts';
import type { TopicProducer } from '../kafka/topic-producer.ts';
import { UsageError } from '../errors.ts';
import { backoffDelay } from '../util/backoff.ts';
import { claimAndProduce, type ClaimedRedelivery } from './redelivery-claims.ts';

/** The channel webhooks.redeliver() and webhooks.recover() (migration 0002) notify on. */
export const REDELIVERIES_CHANNEL = 'webhooks_redeliveries';

export type SweepReason = 'start' | 'notify' | 'interval' | 'reconnect' | 'more' | 'retry' | 'manual';

/** A redelivery handed to the first retry topic. */
export interface QueuedRedelivery {
  deliveryId: string;
  endpointId: string;
  eventType: string;
  /** The new attempt series (the one webhooks.redeliver() started). */
  series: number;
}

/** Lifecycle events, for metrics and tests. */
export interface RedeliveryWatcherEvents {
  /** Redeliveries were acknowledged by Kafka and marked queued (one event per claimed batch). */
  queued: [{ reason: SweepReason; deliveries: QueuedRedelivery[] }];
  /** A sweep finished; `count` redeliveries were queued by it (0 when there was nothing to do). */
  swept: [{ reason: SweepReason; count: number; durationMs: number }];
  /** A sweep failed (Postgres or Kafka); its claimed rows stay pending for the next trigger. */
  sweepFailed: [{ reason: SweepReason; error: unknown }];
  /** A redelivery notification arrived (a sweep is requested; several may share one sweep). */
  notification: [];
  /** The LISTEN connection is up (at start and after every reconnect). */
  listenerConnected: [];
  /** The LISTEN connection failed or was lost; a reconnect is scheduled in `retryInMs`. */
  listenerError: [{ error: unknown; retryInMs: number }];
}

export interface RedeliveryWatcherOptions {
  /** Pool for the claim transactions. */
  pool: pg.Pool;
  /** Where the dedicated LISTEN connection goes (the same database as `pool`). */
  databaseUrl: string;
  /** Produces the delivery tasks; must be connected for as long as the watcher runs. */
  producer: Pick<TopicProducer, 'send'>;
  /** The first delay topic (`topicNames(config).retry[0]`): the retry consumer attempts what is due on it. */
  firstRetryTopic: string;
  /** Used as given: the caller scopes it (e.g. a child with `{ component: 'redelivery' }`). */
  logger: Logger;
  /** Period of the sweep that catches requests whose NOTIFY was lost, ms. Default 30000. */
  intervalMs?: number;
  /** Most redeliveries claimed by one statement. Default 500. */
  batchSize?: number;
  /** Notifications within this window share one sweep, ms. Default 20. */
  debounceMs?: number;
  /** Wall clock, ms since the epoch (first-attempt and due times of the tasks). Default `Date.now`. */
  now?: () => number;
  /** application_name of the LISTEN connection. Default `dialer-webhooks-redeliveries`. */
  applicationName?: string;
  /** Reconnect backoff of the LISTEN connection. Default 100 ms to 10 s. */
  reconnectBackoff?: { initialMs: number; maxMs: number };
  /** Aborting it stops the watcher. */
  signal?: AbortSignal;
}

/**
 * Turns redelivery requests in Postgres into delivery tasks on the first retry topic, so the normal
 * retry path sends them: a fresh endpoint lookup, fresh signatures, the same delivery id, attempt 1
 * of the new series.
 *
 * Woken by NOTIFY on `webhooks_redeliveries`, by a periodic sweep (NOTIFY is only a hint) and after
 * a reconnect. Each sweep claims a batch in a transaction (pending → retrying, 'redelivery queued')
 * and commits only after Kafka acknowledged every task of it: if producing fails, or the process
 * dies first, the transaction rolls back and the rows stay pending for the next sweep. Nothing is
 * lost; a task acknowledged just before a failed commit is produced again by a later sweep, which
 * the dispatcher either sends twice (at least once) or drops as superseded once the first copy has
 * been recorded.
 *
 * A task is due at once, but it waits on its partition behind earlier tasks that are not yet due
 * (at most the first tier's delay): never early, possibly late.
 */
export class RedeliveryWatcher extends EventEmitter<RedeliveryWatcherEvents> implements AsyncDisposable {
  readonly #pool: pg.Pool;
  readonly #producer: Pick<TopicProducer, 'send'>;
  readonly #topic: string;
  readonly #logger: Logger;
  readonly #intervalMs: number;
  readonly #batchSize: number;
  readonly #now: () => number;
  readonly #job: NotifiedJob<SweepReason>;
  #retryTimer: NodeJS.Timeout | undefined;
  #failures = 0;

  constructor(options: RedeliveryWatcherOptions) {
    super();
    this.#intervalMs = options.intervalMs ?? 30_000;
    this.#batchSize = options.batchSize ?? 500;
    if (!(this.#intervalMs > 0)) throw new UsageError(`intervalMs must be positive, got ${this.#intervalMs}`);
    if (!(Number.isInteger(this.#batchSize) && this.#batchSize > 0))
      throw new UsageError(`batchSize must be a positive integer, got ${this.#batchSize}`);
    this.#pool = options.pool;
    this.#producer = options.producer;
    this.#topic = options.firstRetryTopic;
    this.#logger = options.logger;
    this.#now = options.now ?? Date.now;
    this.#job = new NotifiedJob<SweepReason>(
      notifiedJobOptions(options, {
        listen: {
          owner: 'RedeliveryWatcher',
          channel: REDELIVERIES_CHANNEL,
          applicationName: 'dialer-webhooks-redeliveries',
          debounceMs: 20,
        },
        log: { subject: 'redelivery', listensFor: 'redelivery requests', run: 'sweep' },
        // A full batch is followed at once by another ('more'), unless a trigger is already queued.
        run: async (reason) => ((await this.#sweepOnce(reason)) >= this.#batchSize ? 'more' : null),
        intervalMs: this.#intervalMs,
        events: this,
        // Requests made while no dispatcher ran; a failing first sweep does not fail start().
        onStart: () => this.#job.request('start'),
        onStop: () => clearTimeout(this.#retryTimer),
      }),
    );
  }

  /** True while the LISTEN connection is up (readiness). */
  get listening(): boolean {
    return this.#job.listening;
  }

  /**
   * LISTENs, then sweeps once (requests made while no dispatcher ran) and starts the periodic
   * sweep. Rejects, leaving nothing open, if Postgres cannot be reached; a failing first sweep
   * does not reject (it is retried by the next trigger).
   */
  start(): Promise<void> {
    return this.#job.start();
  }

  /**
   * Sweeps now and resolves when that sweep (and any it had to queue behind) is done. For tests
   * and tools; the watcher sweeps by itself.
   */
  sweep(): Promise<void> {
    return this.#job.runNow('manual');
  }

  /** Stops timers, waits for a sweep in progress (its produce and commit) and closes the LISTEN connection. Safe to call twice. */
  stop(): Promise<void> {
    return this.#job.stop();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  // --- sweeps --------------------------------------------------------------------------------

  /** One claim-produce-commit round; returns how many rows it claimed (0 after a failure). */
  async #sweepOnce(reason: SweepReason): Promise<number> {
    const started = performance.now();
    let rows: ClaimedRedelivery[];
    try {
      rows = await claimAndProduce(this.#pool, this.#producer, this.#topic, this.#batchSize, this.#now);
    } catch (error) {
      this.#logger.warn({ err: error, reason }, 'redelivery sweep failed; the requests stay pending for the next sweep');
      this.emit('sweepFailed', { reason, error });
      this.#scheduleRetry();
      return 0;
    }
    this.#failures = 0;
    const durationMs = performance.now() - started;
    const deliveries = rows.map((r) => ({ deliveryId: r.id, endpointId: r.endpoint_id, eventType: r.event_type, series: r.series }));
    if (deliveries.length > 0) {
      this.#logger.info({ count: deliveries.length, reason, durationMs }, 'redeliveries queued');
      this.emit('queued', { reason, deliveries });
    }
    this.emit('swept', { reason, count: deliveries.length, durationMs });
    return deliveries.length;
  }

  // After a failure, sweep again soon (doubling from 500 ms) rather than only at the next interval.
  #scheduleRetry(): void {
    if (this.#job.stopped || this.#retryTimer !== undefined) return;
    this.#failures += 1;
    const delayMs = backoffDelay(this.#failures, { initialMs: 500, maxMs: this.#intervalMs });
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#job.request('retry');
    }, delayMs);
  }
}

/** Creates a watcher and starts it; the caller stops it (before the producer disconnects). */
export async function startRedeliveryWatcher(options: RedeliveryWatcherOptions): Promise<RedeliveryWatcher> {
  const watcher = new RedeliveryWatcher(options);
  await watcher.start();
  return watcher;
}
