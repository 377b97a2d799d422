import { EventEmitter } from 'node:events';
import type { Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import { PartitionConsumer, type ConsumedMessage, type PartitionConsumerOptions } from '../kafka/partition-consumer.ts';
import { RETRY_FETCH_BYTES_PER_PARTITION } from '../config.ts';
import { taskDueAt } from './retry-message.ts';

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
}

export interface DelayConsumerEvents {
  paused: [{ topic: string; partition: number; dueAtMs: number }];
  resumed: [{ topic: string; partition: number; lateMs: number }];
}

/**
 * Reads the delay topics and hands each task on once it is due. At the first message not yet
 * due, its partition is paused until then: due times only grow along a partition of a tier (each
 * is its scheduling time plus the tier's delay), so nothing after it is due either. A
 * redelivery, due at once, may wait behind them: never early, possibly late.
 *
 * Each resume makes kafkajs fetch the partition again from the paused offset, and decode all it
 * fetched; a tier holding a burst of tasks a few ms apart (a hung endpoint's retries) is resumed
 * for every few of them. So its fetches are small (RETRY_FETCH_BYTES_PER_PARTITION): what is
 * decoded again and again is a few dozen tasks, not a MiB of them.
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
      defer: (m) => taskDueAt(m.headers) > this.#now(),
      maxBytesPerPartition: RETRY_FETCH_BYTES_PER_PARTITION,
      logger: options.logger,
    });
    this.consumer.on('deferred', ({ message }) => this.#resumeWhenDue(message));
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

  #resumeWhenDue(message: ConsumedMessage): void {
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
          this.emit('resumed', { topic, partition, lateMs: this.#now() - dueAtMs });
        },
        Math.max(0, dueAtMs - this.#now()),
      ),
    );
  }
}
