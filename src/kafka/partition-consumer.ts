import { EventEmitter } from 'node:events';
import type { Consumer, EachBatchPayload } from 'kafkajs';
import { DEPENDENCY_BACKOFF } from '../config.ts';
import { TransientError } from '../errors.ts';
import { OffsetCommitter, type PartitionState } from './offset-committer.ts';
import { OffsetTracker } from './offset-tracker.ts';
import { recoverMessage } from './message-recovery.ts';
import { waitOnPartition } from './partition-wait.ts';
import {
  consumedMessage,
  type ConsumedMessage,
  type PartitionConsumerEvents,
  type PartitionConsumerOptions,
} from './partition-consumer-options.ts';
import { beforeRejoin } from './rejoin-hook.ts';

export type { ConsumedMessage, PartitionConsumerEvents, PartitionConsumerOptions } from './partition-consumer-options.ts';

/** The work of one group generation: aborted before a rejoin, so it never overlaps the next owner's. */
interface Generation {
  abort: AbortController;
  /** Passed to handlers: aborts on a forced shutdown or a rejoin. */
  signal: AbortSignal;
  /** Ends handler retries: aborts once stopping or on a rejoin. */
  retrySignal: AbortSignal;
  /** Wakes the messages held until due (see `dueIn`): called when retrySignal aborts. */
  held: Set<() => void>;
}

const key = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

/**
 * Runs a kafkajs consumer group whose messages are handled concurrently within each partition
 * (up to `concurrency`), with safe commits: the committed offset of a partition is always the
 * lowest offset not yet settled (see OffsetTracker), so a crash re-reads, and never skips.
 * Offsets are committed by this class on a short interval, never by kafkajs (autoCommit off).
 *
 * Rebalances: before this member rejoins (rejoin-hook.ts), in-flight messages get
 * `rebalanceDrainMs` to settle, the rest are aborted and awaited, and what settled is committed.
 * Every join then starts each partition afresh (kafkajs fetches it again from its committed
 * offset), so no message is handled by two members, or two generations, at once.
 */
export class PartitionConsumer extends EventEmitter<PartitionConsumerEvents> {
  readonly #o: Required<Omit<PartitionConsumerOptions, 'dueIn'>> & Pick<PartitionConsumerOptions, 'dueIn'>;
  readonly #consumer: Consumer;
  readonly #commits: OffsetCommitter;
  readonly #states = new Map<string, PartitionState>();
  /** Forced shutdown: aborts handlers. */
  readonly #handlerAbort = new AbortController();
  /** Stopping: failing messages are retried no more. */
  readonly #retryAbort = new AbortController();
  #generation: Generation = this.#newGeneration();
  #unhook: (() => void) | null = null;
  #commitTimer: NodeJS.Timeout | null = null;
  #stopping = false;
  #stopped: Promise<void> | null = null;
  #joined = false;
  #rejoining = false;
  #inFlight = 0;
  #drainWaiters: Array<() => void> = [];

  constructor(options: PartitionConsumerOptions) {
    super();
    this.#o = {
      commitIntervalMs: 200,
      handlerBackoff: DEPENDENCY_BACKOFF,
      rebalanceDrainMs: 10_000,
      maxBytesPerPartition: 256 * 1024,
      maxBytes: 2 * 1024 * 1024,
      holdMs: 0,
      ...options,
    };
    this.#consumer = options.kafka.consumer({
      groupId: options.groupId,
      sessionTimeout: 30_000,
      heartbeatInterval: 3000,
      rebalanceTimeout: 60_000,
      maxWaitTimeInMs: 100,
      maxBytesPerPartition: this.#o.maxBytesPerPartition,
      maxBytes: this.#o.maxBytes,
      retry: { retries: 10 },
    });
    this.#commits = new OffsetCommitter(this.#consumer, options.logger, (offsets) => this.emit('committed', offsets));
    const { GROUP_JOIN, CRASH } = this.#consumer.events;
    this.#consumer.on(GROUP_JOIN, (e) => this.#onJoin(e.payload.memberId, e.payload.memberAssignment));
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

  #newGeneration(): Generation {
    const abort = new AbortController();
    const retrySignal = AbortSignal.any([this.#retryAbort.signal, abort.signal]);
    const held = new Set<() => void>();
    // One listener for all held messages (not one per message on the shared signal).
    retrySignal.addEventListener(
      'abort',
      () => {
        for (const wake of held) wake();
      },
      { once: true },
    );
    return { abort, signal: AbortSignal.any([this.#handlerAbort.signal, abort.signal]), retrySignal, held };
  }

  #onJoin(memberId: string, assignment: Record<string, number[]>): void {
    const partitions = Object.entries(assignment).flatMap(([topic, ps]) => ps.map((partition) => ({ topic, partition })));
    // kafkajs fetches every assigned partition again from its committed offset: start each afresh.
    // Work of an earlier generation still running here (a rejoin the hook did not see, such as
    // after this member was dropped from the group) is aborted: its partitions may be another's.
    this.#endGeneration();
    this.#unhook?.();
    this.#unhook = beforeRejoin(this.#o.groupId, memberId, () => this.#beforeRejoin());
    this.#rejoining = false;
    this.#joined = true;
    this.emit('joined', { partitions });
  }

  #endGeneration(): void {
    for (const state of this.#states.values()) for (const w of state.slotWaiters.splice(0)) w();
    this.#states.clear();
    if (this.#inFlight > 0) this.#generation.abort.abort(new TransientError('partition assignment changed'));
    this.#generation = this.#newGeneration();
  }

  async #beforeRejoin(): Promise<void> {
    if (this.#stopping) return;
    this.#rejoining = true;
    const before = this.#inFlight;
    await this.#drained(AbortSignal.timeout(this.#o.rebalanceDrainMs));
    const aborted = this.#inFlight;
    if (aborted > 0) {
      this.#o.logger.warn(
        { inFlight: aborted },
        'rebalance: aborting in-flight messages that did not settle in time (they will be read again)',
      );
      this.#generation.abort.abort(new TransientError('rebalance'));
      await this.#drained();
    }
    await this.#commits.idle();
    await this.#commits.commitMoved(this.#states.values());
    this.#endGeneration();
    this.emit('rebalancing', { drained: before - aborted, aborted });
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
    const gone = (): boolean =>
      this.#stopping || this.#rejoining || !isRunning() || isStale() || this.#states.get(key(topic, partition)) !== state;
    // kafkajs keeps one resolved position per partition (its next fetch starts there): the last
    // admitted offset is handed to it before each wait and at the end, not once per message.
    let admitted: string | null = null;
    const resolveAdmitted = (): void => {
      if (admitted !== null) resolveOffset(admitted);
      admitted = null;
    };
    for (const m of batch.messages) {
      if (gone()) return resolveAdmitted();
      const message = consumedMessage(topic, partition, m);
      const waitMs = this.#o.dueIn?.(message) ?? 0;
      // Held in memory only with a slot free: waiting for one would hold every other partition's
      // next fetch (kafkajs fetches again once every batch of a fetch is handled).
      if (waitMs > 0 && (waitMs > this.#o.holdMs || state.tracker.inFlight >= this.#o.concurrency)) {
        resolveAdmitted();
        await this.#pauseAt(state, message, waitMs > this.#o.holdMs ? waitMs - this.#o.holdMs : waitMs);
        return; // not resolved: kafkajs fetches it again after the resume
      }
      if (state.tracker.inFlight >= this.#o.concurrency) {
        resolveAdmitted();
        do {
          await waitOnPartition(state, 1000);
          if (gone()) return;
          await heartbeat();
        } while (state.tracker.inFlight >= this.#o.concurrency);
      }
      const offset = BigInt(m.offset);
      state.tracker.add(offset);
      this.#inFlight++;
      admitted = m.offset;
      void this.#run(state, offset, message, this.#generation, waitMs);
    }
    resolveAdmitted();
    await heartbeat();
  }

  async #run(state: PartitionState, offset: bigint, message: ConsumedMessage, gen: Generation, waitMs: number): Promise<void> {
    if (waitMs > 0) await this.#holdUntilDue(message, gen, waitMs);
    // Once stopping or rejoining, a message not yet started stays unsettled (read again later).
    let settled = !gen.retrySignal.aborted;
    if (settled) {
      try {
        // The common case, a handler that succeeds, makes no retry state: only a failure does.
        await this.#o.handle(message, gen.signal);
      } catch (error) {
        settled = await recoverMessage(this, this.#o, message, gen, error);
      }
    }
    if (settled) {
      state.tracker.complete(offset);
      state.slotWaiters.shift()?.();
    }
    this.#settled();
  }

  /**
   * Waits `waitMs` (what `dueIn` said at admission), then until `dueIn` says the message is due
   * (never before), or the generation's retries end.
   */
  async #holdUntilDue(message: ConsumedMessage, gen: Generation, waitMs: number): Promise<void> {
    for (let ms = waitMs; ms > 0 && !gen.retrySignal.aborted; ms = this.#o.dueIn!(message)) {
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          clearTimeout(timer);
          gen.held.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, ms);
        gen.held.add(wake);
      });
    }
  }

  #settled(): void {
    this.#inFlight--;
    if (this.#inFlight === 0) for (const w of this.#drainWaiters.splice(0)) w();
  }

  /** Resolves when nothing is in flight, or when `deadline` aborts. */
  #drained(deadline?: AbortSignal): Promise<void> {
    if (this.#inFlight === 0 || deadline?.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = (): void => {
        deadline?.removeEventListener('abort', done);
        resolve();
      };
      this.#drainWaiters.push(done);
      deadline?.addEventListener('abort', done, { once: true });
    });
  }

  async #pauseAt(state: PartitionState, message: ConsumedMessage, resumeInMs: number): Promise<void> {
    await this.#commits.commitBeforePause(state, BigInt(message.offset));
    this.#consumer.pause([{ topic: state.topic, partitions: [state.partition] }]);
    this.emit('deferred', { message, resumeInMs });
  }

  /** Fetches a partition paused by `dueIn` again; nothing once stopping. */
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
    this.#unhook?.();
    for (const s of this.#states.values()) for (const w of s.slotWaiters.splice(0)) w();
    try {
      this.#consumer.pause(this.#o.topics.map((topic) => ({ topic })));
    } catch {
      // not running yet
    }
    await this.#drained(deadline);
    if (this.#inFlight > 0) {
      this.#o.logger.warn({ inFlight: this.#inFlight }, 'shutdown deadline reached; aborting in-flight messages (they will be read again)');
      this.#handlerAbort.abort();
      await this.#drained();
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
