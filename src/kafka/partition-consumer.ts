import { EventEmitter } from 'node:events';
import type { Consumer, EachBatchPayload, IHeaders, Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import { DEPENDENCY_BACKOFF } from '../config.ts';
import { retrying, type BackoffPolicy } from '../util/backoff.ts';
import { OffsetCommitter, type CommittedOffset, type PartitionState } from './offset-committer.ts';
import { OffsetTracker } from './offset-tracker.ts';

/** A message as handlers see it; kafkajs types stay inside `src/kafka/`. */
export interface ConsumedMessage {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: IHeaders | undefined;
  /** Broker/producer timestamp, ms since the epoch. */
  timestampMs: number;
}

export interface PartitionConsumerOptions {
  kafka: Kafka;
  groupId: string;
  topics: readonly string[];
  /** Where a group with no committed offset starts: true for the earliest message. */
  fromBeginning: boolean;
  /** Messages of one partition handled at once. */
  concurrency: number;
  /**
   * Settles one message: resolves once everything it caused is durable. It should handle its own
   * failures; if it rejects anyway, it is tried again after a backoff (never skipped). `signal`
   * aborts on a forced shutdown: the message then stays unsettled and is read again later.
   */
  handle: (message: ConsumedMessage, signal: AbortSignal) => Promise<void>;
  /**
   * Asked before each message is admitted: true holds it back. Its partition is then paused at
   * that message (nothing after it is admitted either) until `resume()` is called for it, and the
   * `deferred` event says which message waits. The owner decides when to resume (a delay consumer:
   * when the message is due).
   */
  defer?: (message: ConsumedMessage) => boolean;
  /** How often settled offsets are committed, ms. */
  commitIntervalMs?: number;
  /** Waits between tries of a failing handler. Default DEPENDENCY_BACKOFF. */
  handlerBackoff?: BackoffPolicy;
  logger: Logger;
}

export interface PartitionConsumerEvents {
  /** The group was (re)joined; `partitions` is this member's assignment. */
  joined: [{ partitions: Array<{ topic: string; partition: number }> }];
  committed: [CommittedOffset[]];
  /** A partition was paused at `message` because `defer` held it back. */
  deferred: [{ message: ConsumedMessage }];
  /** kafkajs gave up: the consumer stopped for good (the process should exit). */
  crashed: [{ error: Error }];
}

const key = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

/**
 * Runs a kafkajs consumer group whose messages are handled concurrently within each partition
 * (up to `concurrency`), with safe commits: the committed offset of a partition is always the
 * lowest offset not yet settled (see OffsetTracker), so a crash re-reads, and never skips.
 * Offsets are committed by this class on a short interval, never by kafkajs (autoCommit off).
 */
export class PartitionConsumer extends EventEmitter<PartitionConsumerEvents> {
  readonly #o: Required<Omit<PartitionConsumerOptions, 'defer'>> & Pick<PartitionConsumerOptions, 'defer'>;
  readonly #consumer: Consumer;
  readonly #states = new Map<string, PartitionState>();
  readonly #handlerAbort = new AbortController();
  readonly #retryAbort = new AbortController();
  readonly #commits: OffsetCommitter;
  #commitTimer: NodeJS.Timeout | null = null;
  #stopping = false;
  #stopped: Promise<void> | null = null;
  #joined = false;
  #inFlight = 0;
  #drainWaiters: Array<() => void> = [];

  constructor(options: PartitionConsumerOptions) {
    super();
    this.#o = { commitIntervalMs: 200, handlerBackoff: DEPENDENCY_BACKOFF, ...options };
    this.#consumer = options.kafka.consumer({
      groupId: options.groupId,
      sessionTimeout: 30_000,
      heartbeatInterval: 3000,
      rebalanceTimeout: 60_000,
      maxWaitTimeInMs: 100,
      maxBytesPerPartition: 1024 * 1024,
      retry: { retries: 10 },
    });
    this.#commits = new OffsetCommitter(this.#consumer, options.logger, (offsets) => this.emit('committed', offsets));
    const { GROUP_JOIN, CRASH } = this.#consumer.events;
    this.#consumer.on(GROUP_JOIN, (e) => this.#onJoin(e.payload.memberAssignment));
    this.#consumer.on(CRASH, (e) => {
      const error = e.payload.error;
      this.#o.logger.error({ err: error, restart: e.payload.restart, groupId: this.#o.groupId }, 'kafka consumer crashed');
      if (!e.payload.restart) this.emit('crashed', { error });
    });
  }

  /** True between joining the group and stopping. */
  get consuming(): boolean {
    return this.#joined && !this.#stopping;
  }

  /** Messages admitted and not yet settled, over all partitions. */
  get inFlight(): number {
    return this.#inFlight;
  }

  async start(): Promise<void> {
    await this.#consumer.connect();
    await this.#consumer.subscribe({ topics: [...this.#o.topics], fromBeginning: this.#o.fromBeginning });
    await this.#consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: Math.max(1, Math.min(8, this.#o.topics.length * 3)),
      eachBatch: (payload) => this.#eachBatch(payload),
    });
    this.#commitTimer = setInterval(() => void this.#commits.commitMoved(this.#states.values()), this.#o.commitIntervalMs);
  }

  #onJoin(assignment: Record<string, number[]>): void {
    const assigned = new Set<string>();
    const partitions: Array<{ topic: string; partition: number }> = [];
    for (const [topic, ps] of Object.entries(assignment)) {
      for (const partition of ps) {
        assigned.add(key(topic, partition));
        partitions.push({ topic, partition });
      }
    }
    // Revoked partitions: forget them, so a late completion never commits for another member.
    for (const [k, state] of this.#states) {
      if (!assigned.has(k)) {
        this.#states.delete(k);
        for (const w of state.slotWaiters.splice(0)) w();
      }
    }
    this.#joined = true;
    this.emit('joined', { partitions });
  }

  #state(topic: string, partition: number): PartitionState {
    const k = key(topic, partition);
    let s = this.#states.get(k);
    if (!s) {
      s = { topic, partition, tracker: new OffsetTracker(), committed: null, slotWaiters: [] };
      this.#states.set(k, s);
    }
    return s;
  }

  async #eachBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const { topic, partition } = batch;
    const state = this.#state(topic, partition);
    for (const m of batch.messages) {
      if (this.#stopping || !isRunning() || isStale() || this.#states.get(key(topic, partition)) !== state) return;
      const message: ConsumedMessage = {
        topic,
        partition,
        offset: m.offset,
        key: m.key,
        value: m.value,
        headers: m.headers,
        timestampMs: Number(m.timestamp),
      };
      if (this.#o.defer?.(message)) {
        await this.#pauseAt(state, message);
        return; // not resolved: kafkajs fetches it again after the resume
      }
      while (state.tracker.inFlight >= this.#o.concurrency) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, 1000);
          state.slotWaiters.push(() => (clearTimeout(t), resolve()));
        });
        if (this.#stopping || !isRunning() || isStale() || this.#states.get(key(topic, partition)) !== state) return;
        await heartbeat();
      }
      const offset = BigInt(m.offset);
      state.tracker.add(offset);
      this.#inFlight++;
      resolveOffset(m.offset);
      void this.#run(state, offset, message);
    }
    await heartbeat();
  }

  async #run(state: PartitionState, offset: bigint, message: ConsumedMessage): Promise<void> {
    const { topic, partition } = message;
    try {
      await retrying(() => this.#o.handle(message, this.#handlerAbort.signal), {
        ...this.#o.handlerBackoff,
        // Once stopping, a failing message waits no more: it stays unsettled and is read again.
        signal: this.#retryAbort.signal,
        onRetry: ({ error, failures, delayMs }) =>
          this.#o.logger.error(
            { err: error, topic, partition, offset: message.offset, failures, retryInMs: delayMs },
            'message handler failed; retrying',
          ),
      });
    } catch {
      // Aborted (stop): left unsettled, so not committed and read again after the restart.
      this.#settled();
      return;
    }
    state.tracker.complete(offset);
    state.slotWaiters.shift()?.();
    this.#settled();
  }

  #settled(): void {
    this.#inFlight--;
    if (this.#inFlight === 0) for (const w of this.#drainWaiters.splice(0)) w();
  }

  async #pauseAt(state: PartitionState, message: ConsumedMessage): Promise<void> {
    await this.#commits.commitBeforePause(state, BigInt(message.offset));
    this.#consumer.pause([{ topic: state.topic, partitions: [state.partition] }]);
    this.emit('deferred', { message });
  }

  /** Fetches a partition paused by `defer` again; nothing once stopping. */
  resume(topic: string, partition: number): void {
    if (this.#stopping) return;
    this.#consumer.resume([{ topic, partitions: [partition] }]);
  }

  /**
   * Stops fetching, lets in-flight messages settle until `deadline` aborts, then aborts the rest
   * (they stay uncommitted), commits what settled and leaves the group. Safe to call twice.
   */
  stop(deadline?: AbortSignal): Promise<void> {
    this.#stopped ??= this.#stop(deadline);
    return this.#stopped;
  }

  async #stop(deadline?: AbortSignal): Promise<void> {
    this.#stopping = true;
    this.#retryAbort.abort();
    for (const s of this.#states.values()) for (const w of s.slotWaiters.splice(0)) w();
    try {
      this.#consumer.pause(this.#o.topics.map((topic) => ({ topic })));
    } catch {
      // not running yet
    }
    if (this.#inFlight > 0) {
      await new Promise<void>((resolve) => {
        this.#drainWaiters.push(resolve);
        if (deadline?.aborted) resolve();
        deadline?.addEventListener('abort', () => resolve(), { once: true });
      });
    }
    if (this.#inFlight > 0) {
      this.#o.logger.warn({ inFlight: this.#inFlight }, 'shutdown deadline reached; aborting in-flight messages (they will be read again)');
      this.#handlerAbort.abort();
      await new Promise<void>((resolve) => {
        if (this.#inFlight === 0) resolve();
        else this.#drainWaiters.push(resolve);
      });
    }
    if (this.#commitTimer) clearInterval(this.#commitTimer);
    await this.#commits.idle();
    await this.#commits.commitMoved(this.#states.values());
    this.#joined = false;
    await this.#consumer.disconnect();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
