import { EventEmitter } from 'node:events';
import type { Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import { PartitionConsumer, type ConsumedMessage, type PartitionConsumerOptions } from '../kafka/partition-consumer.ts';
import { RETRY_FETCH_BYTES_PER_PARTITION, RETRY_HOLD_MS } from '../config.ts';
import { taskDueAt } from './retry-message.ts';

/**
 * Tasks are handed on at the first multiple of this many ms at or after their due time, so the
 * held tasks of a burst due a few ms apart wake together and share the dispatcher's lookups (one
 * query for the tasks woken within a millisecond: BatchedLookup), instead of one each.
 */
const HOLD_TICK_MS = 10;

export interface DelayConsumerOptions {
  kafka: Kafka;
  groupId: string;
  /** The distinct delay topics. */
  topics: readonly string[];
  /** Messages of one partition handled at once. */
  concurrency: number;
  /** Attempts a due delivery task (see PartitionConsumer's `handle`). */
  handle: (message: ConsumedMessage, signal: AbortSignal) => Promise<void>;
  /** As for PartitionConsumer. */
  classify: PartitionConsumerOptions['classify'];
  quarantine: PartitionConsumerOptions['quarantine'];
  maxUnclassifiedAttempts: number;
  logger: Logger;
  /** Wall clock, ms since the epoch. Default `Date.now`. */
  now?: () => number;
  /** A task due within this many ms is held in memory until due instead of pausing its partition. Default RETRY_HOLD_MS. */
  holdMs?: number;
}

export interface DelayConsumerEvents {
  paused: [{ topic: string; partition: number; dueAtMs: number }];
  /** The partition paused at the task due at `dueAtMs` is fetched again (up to `holdMs` before then). */
  resumed: [{ topic: string; partition: number; dueAtMs: number }];
}

/**
 * Reads the delay topics and hands each task on once it is due, never before. A task due within
 * `holdMs` is admitted and held in memory until then (its offset stays uncommitted, like any
 * message in flight). At the first task due later, its partition is paused until `holdMs` before
 * it is due: due times only grow along a partition of a tier (each is its scheduling time plus
 * the tier's delay), so nothing after it is due sooner. A redelivery, due at once, may wait
 * behind them: never early, possibly late.
 *
 * Each resume makes kafkajs fetch the partition again from the paused offset, and decode all it
 * fetched. Pausing at every task not yet due resumed a tier holding a burst of tasks a few ms
 * apart (a hung endpoint's retries) for every few of them, each resume a commit, a fetch and a
 * decode of what followed; holding what is due soon takes the burst in one fetch. The fetches
 * stay small (RETRY_FETCH_BYTES_PER_PARTITION), so what a resume decodes again is a few dozen
 * tasks, not a MiB of them.
 */
export class DelayConsumer extends EventEmitter<DelayConsumerEvents> implements AsyncDisposable {
  /** The group consumer underneath (readiness, lifecycle events). */
  readonly consumer: PartitionConsumer;
  readonly #now: () => number;
  readonly #timers = new Map<string, NodeJS.Timeout>();
  #stopping = false;

  constructor(options: DelayConsumerOptions) {
    super();
    this.#now = options.now ?? Date.now;
    this.consumer = new PartitionConsumer({
      kafka: options.kafka,
      groupId: options.groupId,
      topics: options.topics,
      fromBeginning: true,
      concurrency: options.concurrency,
      handle: options.handle,
      classify: options.classify,
      quarantine: options.quarantine,
      maxUnclassifiedAttempts: options.maxUnclassifiedAttempts,
      dueIn: (m) => Math.ceil(taskDueAt(m.headers) / HOLD_TICK_MS) * HOLD_TICK_MS - this.#now(),
      holdMs: options.holdMs ?? RETRY_HOLD_MS,
      maxBytesPerPartition: RETRY_FETCH_BYTES_PER_PARTITION,
      logger: options.logger,
    });
    this.consumer.on('deferred', ({ message, resumeInMs }) => this.#resumeLater(message, resumeInMs));
  }

  start(): Promise<void> {
    return this.consumer.start();
  }

  /** Stops the resume timers and the consumer (see PartitionConsumer.stop). Safe to call twice. */
  stop(deadline?: AbortSignal): Promise<void> {
    this.#stopping = true;
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
    return this.consumer.stop(deadline);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  #resumeLater(message: ConsumedMessage, resumeInMs: number): void {
    if (this.#stopping) return;
    const { topic, partition } = message;
    const dueAtMs = taskDueAt(message.headers);
    this.emit('paused', { topic, partition, dueAtMs });
    const k = `${topic}\u0000${partition}`;
    clearTimeout(this.#timers.get(k));
    this.#timers.set(
      k,
      setTimeout(
        () => {
          this.#timers.delete(k);
          if (this.#stopping) return;
          this.consumer.resume(topic, partition);
          this.emit('resumed', { topic, partition, dueAtMs });
        },
        Math.max(0, resumeInMs),
      ),
    );
  }
}
