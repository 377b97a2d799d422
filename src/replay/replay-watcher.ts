import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import type { Config } from '../config.ts';
import type { DatabaseHandle } from '../db/database.ts';
import type { NotifiedJobEvents } from '../db/notified-job.ts';
import { NotifiedJob } from '../db/notified-job.ts';
import { UsageError } from '../errors.ts';
import type { EventDecoder } from '../events/event-decoder.ts';
import type { Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import type { TopicProducer } from '../kafka/topic-producer.ts';
import type { TopicNames } from '../topics/service-topics.ts';
import { claimReplay, REPLAYS_CHANNEL } from './replay-requests.ts';
import { ReplayRun, type ReplayMetrics, type ReplayRunContext, type RunResult } from './replay-run.ts';

type WatchReason = 'start' | 'more' | 'manual';

/** Lifecycle events, for metrics and tests. */
export interface ReplayWatcherEvents extends NotifiedJobEvents {
  /** This dispatcher claimed a replay request and starts it (`claim` counts from 1). */
  claimed: [{ id: string; claim: number }];
  /** A run ended (done, failed, cancelled; released when the dispatcher stopped; lost when taken over). */
  ended: [{ id: string } & RunResult];
  /** Claiming failed (Postgres); the next trigger tries again. */
  claimFailed: [{ error: unknown }];
}

export interface ReplayWatcherOptions extends Omit<ReplayRunContext, 'instanceId' | 'leaseMs' | 'progressIntervalMs'> {
  /** Where the dedicated LISTEN connection goes (the same database as `database`). */
  databaseUrl: string;
  /** `claimed_by` of this dispatcher. Default: host name, pid and a random suffix. */
  instanceId?: string;
  /** A claim not renewed for this long may be taken over by another dispatcher, ms. Default 30000. */
  leaseMs?: number;
  /** How often a running replay writes its progress and renews its lease, ms. Default 2000. */
  progressIntervalMs?: number;
  /** Period of the poll that catches requests whose NOTIFY was lost (and expired leases), ms. Default 30000. */
  intervalMs?: number;
  /** Claims of one request after which a replay whose runners keep dying is failed. Default 3. */
  maxClaims?: number;
  /** Aborting it stops the watcher. */
  signal?: AbortSignal;
}

/**
 * Runs the replays requested with webhooks.replay() (migration 0010), one at a time in this
 * dispatcher. Woken by NOTIFY on `webhooks_replays` (a request or a cancellation), by a periodic
 * poll (NOTIFY is only a hint; it also finds replays whose runner died) and after a reconnect.
 *
 * At most one dispatcher runs a given replay: the claim is a status transition (queued → running)
 * under `for update skip locked`, with a lease the run renews with each progress write. A run whose
 * lease ran out (its dispatcher died or lost Postgres) is claimed again by any dispatcher and
 * restarts from `since`; that is safe because a replay skips what already succeeded. A stopping
 * dispatcher hands its run back (queued) at once.
 */
export class ReplayWatcher extends EventEmitter<ReplayWatcherEvents> implements AsyncDisposable {
  readonly #ctx: ReplayRunContext;
  readonly #maxClaims: number;
  readonly #job: NotifiedJob<WatchReason>;
  #running: { run: ReplayRun; done: Promise<void> } | null = null;

  constructor(options: ReplayWatcherOptions) {
    super();
    const { databaseUrl, instanceId, leaseMs, progressIntervalMs, intervalMs, maxClaims, signal, ...shared } = options;
    this.#ctx = {
      ...shared,
      instanceId: instanceId ?? `${hostname()}/${process.pid}/${randomUUID().slice(0, 8)}`,
      leaseMs: leaseMs ?? 30_000,
      progressIntervalMs: progressIntervalMs ?? 2000,
    };
    this.#maxClaims = maxClaims ?? 3;
    if (!(this.#ctx.progressIntervalMs > 0 && this.#ctx.leaseMs > 2 * this.#ctx.progressIntervalMs)) {
      throw new UsageError(`leaseMs (${this.#ctx.leaseMs}) must exceed twice progressIntervalMs (${this.#ctx.progressIntervalMs})`);
    }
    const poll = intervalMs ?? 30_000;
    if (!(poll > 0)) throw new UsageError(`intervalMs must be positive, got ${poll}`);
    this.#job = new NotifiedJob<WatchReason>({
      owner: 'ReplayWatcher',
      listen: {
        databaseUrl,
        channels: [REPLAYS_CHANNEL],
        applicationName: 'dialer-webhooks-replays',
        logger: options.logger,
        messages: { listening: 'listening for replay requests', lost: 'replay LISTEN connection lost; reconnecting' },
      },
      run: () => this.#tick(),
      debounceMs: 20,
      onError: (error) => {
        this.#ctx.logger.warn({ err: error }, 'replay claim failed; the next trigger tries again');
        this.emit('claimFailed', { error });
      },
      intervalMs: poll,
      signal,
      events: this,
      // Requests made while no dispatcher ran; a failing first claim does not fail start().
      onStart: () => this.#job.request('start'),
    });
  }

  /** True while the LISTEN connection is up (readiness). */
  get listening(): boolean {
    return this.#job.listening;
  }

  /** The id of the replay this dispatcher runs now, or null. */
  get runningId(): string | null {
    return this.#running?.run.id ?? null;
  }

  /** LISTENs, then looks for requests once and starts the periodic poll. */
  start(): Promise<void> {
    return this.#job.start();
  }

  /** Looks for a request (or a cancellation) now; for tests and tools. */
  poll(): Promise<void> {
    return this.#job.runNow('manual');
  }

  /** Stops polling, hands a running replay back (queued) and closes the LISTEN connection. Safe to call twice. */
  async stop(): Promise<void> {
    const running = this.#running;
    const stopped = this.#job.stop();
    running?.run.stop();
    await running?.done;
    await stopped;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  // A run goes on in the background: the job only claims, or tells the running one to check its
  // status (a NOTIFY may be its cancellation).
  async #tick(): Promise<null> {
    if (this.#running) {
      await this.#running.run.check();
      return null;
    }
    if (this.#job.stopped) return null;
    const row = await claimReplay(this.#ctx.database.pool, this.#ctx.instanceId, this.#ctx.leaseMs, this.#maxClaims);
    if (!row) return null;
    const run = new ReplayRun(this.#ctx, row);
    this.emit('claimed', { id: row.id, claim: row.claims });
    this.#ctx.metrics?.replaysRunning.inc();
    const done = run
      .run()
      .catch((err: unknown): RunResult => {
        this.#ctx.logger.error({ err, replayId: row.id }, 'replay run failed unexpectedly');
        return { end: 'lost', summary: null };
      })
      .then((result) => {
        this.#ctx.metrics?.replaysRunning.dec();
        this.#running = null;
        this.emit('ended', { id: row.id, ...result });
        // The next request, if any, at once.
        if (!this.#job.stopped) this.#job.request('more');
      });
    this.#running = { run, done };
    return null;
  }
}

/** A watcher for the service, configured and started; the caller stops it (before the producer disconnects). */
export async function startReplayWatcher(
  config: Readonly<Config>,
  parts: {
    database: DatabaseHandle;
    kafka: Kafka;
    producer: Pick<TopicProducer, 'send'>;
    decodeEvent: EventDecoder;
    topics: TopicNames;
    metrics: ReplayMetrics;
    logger: Logger;
  },
): Promise<ReplayWatcher> {
  const watcher = new ReplayWatcher({
    database: parts.database,
    databaseUrl: config.database.url,
    kafka: parts.kafka,
    producer: parts.producer,
    decodeEvent: parts.decodeEvent,
    inputTopics: parts.topics.input,
    firstRetryTopic: parts.topics.retry[0]!,
    groupId: config.kafka.groupId,
    ratePerSecond: config.replay.ratePerSecond,
    metrics: parts.metrics,
    logger: parts.logger.child({ component: 'replay' }),
  });
  await watcher.start();
  return watcher;
}
