import type { Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import type { DatabaseHandle } from '../db/database.ts';
import { findEndpointById } from '../endpoints/endpoint-reads.ts';
import type { EventDecoder } from '../events/event-decoder.ts';
import type { TopicProducer } from '../kafka/topic-producer.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { replay, ZERO_COUNTS, type ReplayProgress, type ReplaySummary } from './replay.ts';
import { finishReplay, releaseReplay, replayStatus, writeProgress, type ClaimedReplay, type ReplayStatus } from './replay-requests.ts';

/** The replay metrics of the service (see metric-definitions.json). */
export type ReplayMetrics = Pick<Metrics, 'replayEventsScanned' | 'replayEvents' | 'replaysFinished' | 'replaysRunning'>;

/** What every replay run by one dispatcher shares. */
export interface ReplayRunContext {
  database: DatabaseHandle;
  kafka: Kafka;
  producer: Pick<TopicProducer, 'send'>;
  decodeEvent: EventDecoder;
  inputTopics: readonly string[];
  firstRetryTopic: string;
  /** The service's consumer group: a replay's own group is `<group>.replay.<id>.<claim>`. */
  groupId: string;
  ratePerSecond: number;
  /** This dispatcher in `claimed_by`. */
  instanceId: string;
  /** A claim not renewed for this long may be taken by another dispatcher, ms. */
  leaseMs: number;
  /** How often progress is written (and the lease renewed, and cancellation seen), ms. */
  progressIntervalMs: number;
  metrics?: ReplayMetrics | undefined;
  logger: Logger;
}

/** How a run ended: `released` when this dispatcher stopped first, `lost` when another took it over. */
export type RunEnd = Exclude<ReplayStatus, 'queued' | 'running'> | 'released' | 'lost';

export interface RunResult {
  end: RunEnd;
  summary: ReplaySummary | null;
}

const ZERO: ReplayProgress = { ...ZERO_COUNTS, offsetsDone: 0, totalOffsets: 0, elapsedMs: 0, offsetsPerSecond: 0, etaMs: null };

/**
 * Runs one claimed replay request to its end with the same code as the CLI (src/replay/replay.ts),
 * writing its progress to the row every `progressIntervalMs`; that write renews the lease and
 * reads the status, so a cancellation stops the run (as does `check()`, on a NOTIFY). `stopping`
 * aborts it: the row is handed back, queued, for any dispatcher to restart.
 */
export class ReplayRun {
  readonly #ctx: ReplayRunContext;
  readonly #row: ClaimedReplay;
  readonly #logger: Logger;
  readonly #controller = new AbortController();
  #latest: ReplayProgress = ZERO;
  #reported: ReplayProgress = ZERO;
  #earliest: Date | null = null;
  #why: 'cancelled' | 'lost' | 'stopping' | null = null;

  constructor(ctx: ReplayRunContext, row: ClaimedReplay) {
    this.#ctx = ctx;
    this.#row = row;
    this.#logger = ctx.logger.child({ replayId: row.id, endpointId: row.endpoint_id });
  }

  get id(): string {
    return this.#row.id;
  }

  /** Aborts the run; it hands the request back (queued) before `run()` resolves. */
  stop(): void {
    this.#abort('stopping');
  }

  /** Reads the row's status now (after a NOTIFY): stops the run if it was cancelled. */
  async check(): Promise<void> {
    const status = await replayStatus(this.#ctx.database.pool, this.#row.id);
    if (status === 'cancelled') this.#abort('cancelled');
    else if (status === null) this.#abort('lost');
  }

  async run(): Promise<RunResult> {
    const ctx = this.#ctx;
    const ref = { id: this.#row.id, instanceId: ctx.instanceId, leaseMs: ctx.leaseMs };
    const endpoint = await findEndpointById(ctx.database.db, this.#row.endpoint_id);
    if (!endpoint || !endpoint.enabled) {
      const error = endpoint
        ? `endpoint ${endpoint.name} is disabled (${endpoint.disabledReason ?? 'no reason given'}): its deliveries would be cancelled`
        : 'the endpoint no longer exists';
      return this.#finish('failed', error, null);
    }
    this.#logger.info(
      { endpoint: endpoint.name, since: this.#row.since, until: this.#row.until, claim: this.#row.claims },
      'replay started',
    );

    let writing: Promise<void> = Promise.resolve();
    const heartbeat = setInterval(() => {
      writing = writing.then(() => this.#heartbeat(ref));
    }, ctx.progressIntervalMs);
    let summary: ReplaySummary;
    try {
      summary = await replay({
        kafka: ctx.kafka,
        pool: ctx.database.pool,
        producer: ctx.producer,
        decodeEvent: ctx.decodeEvent,
        inputTopics: ctx.inputTopics,
        firstRetryTopic: ctx.firstRetryTopic,
        endpoint,
        since: this.#row.since,
        until: this.#row.until,
        types: this.#row.types,
        dryRun: false,
        ratePerSecond: ctx.ratePerSecond,
        groupId: `${ctx.groupId}.replay.${this.#row.id}.${this.#row.claims}`,
        logger: this.#logger,
        signal: this.#controller.signal,
        progressIntervalMs: Math.min(1000, ctx.progressIntervalMs),
        onProgress: (p) => this.#progress(p),
        onRetentionGap: (gap) => {
          if (this.#earliest === null || gap.earliestAvailable > this.#earliest) this.#earliest = gap.earliestAvailable;
          this.#logger.warn(
            { topic: gap.topic, partition: gap.partition, since: this.#row.since, earliestAvailable: gap.earliestAvailable },
            'replay since is older than the topic retention: events before the earliest available are gone',
          );
        },
      });
    } catch (err) {
      return this.#failed(err);
    } finally {
      clearInterval(heartbeat);
      await writing;
    }
    return this.#finish('done', null, summary);
  }

  #abort(why: 'cancelled' | 'lost' | 'stopping'): void {
    this.#why ??= why;
    this.#controller.abort(new Error(`replay ${why}`));
  }

  #progress(p: ReplayProgress): void {
    const m = this.#ctx.metrics;
    const before = this.#reported;
    if (m) {
      m.replayEventsScanned.inc(p.scanned - before.scanned);
      m.replayEvents.inc({ outcome: 'queued' }, p.delivered - before.delivered);
      m.replayEvents.inc({ outcome: 'skipped_succeeded' }, p.alreadySucceeded - before.alreadySucceeded);
      m.replayEvents.inc({ outcome: 'in_flight' }, p.inFlight - before.inFlight);
      m.replayEvents.inc({ outcome: 'filtered' }, p.filtered - before.filtered);
      m.replayEvents.inc({ outcome: 'invalid' }, p.invalid - before.invalid);
    }
    this.#reported = p;
    this.#latest = p;
  }

  async #heartbeat(ref: { id: string; instanceId: string; leaseMs: number }): Promise<void> {
    if (this.#why !== null) return;
    try {
      const status = await writeProgress(this.#ctx.database.pool, ref, this.#latest, this.#earliest);
      if (status === null) this.#abort('lost');
      else if (status === 'cancelled') this.#abort('cancelled');
    } catch (err) {
      // The lease covers a few missed writes; a longer outage lets another dispatcher take over.
      this.#logger.warn({ err }, 'could not write the replay progress');
    }
  }

  async #failed(err: unknown): Promise<RunResult> {
    const why = this.#why;
    if (why === 'lost') {
      this.#logger.warn('replay taken over by another dispatcher (its lease ran out); stopping here');
      return { end: 'lost', summary: null };
    }
    if (why === 'stopping') {
      await releaseReplay(this.#ctx.database.pool, { id: this.#row.id, instanceId: this.#ctx.instanceId }).catch((e: unknown) =>
        this.#logger.warn({ err: e }, 'could not hand the replay back; another dispatcher takes it once its lease runs out'),
      );
      this.#logger.info('dispatcher stopping: replay handed back, queued, to restart from since');
      return { end: 'released', summary: null };
    }
    if (why !== 'cancelled') this.#logger.error({ err }, 'replay failed');
    // A cancelled row keeps its status: finishReplay only records the counters then.
    return this.#finish('failed', err instanceof Error ? err.message : String(err), null);
  }

  async #finish(status: 'done' | 'failed', error: string | null, summary: ReplaySummary | null): Promise<RunResult> {
    const progress = summary ?? this.#latest;
    this.#progress(progress);
    let end: RunEnd;
    try {
      const final = await finishReplay(
        this.#ctx.database.pool,
        { id: this.#row.id, instanceId: this.#ctx.instanceId },
        { status, error, progress, earliestAvailable: this.#earliest },
      );
      end = final === null ? 'lost' : (final as RunEnd);
    } catch (err) {
      this.#logger.warn({ err }, 'could not record the end of the replay; another dispatcher restarts it once its lease runs out');
      return { end: 'lost', summary };
    }
    if (end !== 'lost') this.#ctx.metrics?.replaysFinished.inc({ status: end as 'done' | 'failed' | 'cancelled' });
    const figures = {
      status: end,
      scanned: progress.scanned,
      matched: progress.matched,
      queued: progress.delivered,
      skippedSucceeded: progress.alreadySucceeded,
      filtered: progress.filtered,
      inFlight: progress.inFlight,
      invalid: progress.invalid,
      durationMs: progress.elapsedMs,
      earliestAvailable: this.#earliest,
    };
    if (end === 'failed') this.#logger.warn({ ...figures, error }, 'replay failed');
    else this.#logger.info(figures, `replay ${end}`);
    return { end, summary };
  }
}
