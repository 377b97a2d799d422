import type { Admin, Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import { TransientError } from '../errors.ts';
import { planTopic, type PartitionRange } from '../replay/replay-plan.ts';
import type { ConsumedMessage } from './partition-consumer.ts';

/**
 * The offset ranges of `topics` from `since` up to `until` (or the high watermarks now, when
 * `until` is null), from the brokers' time index (`offsetsForTimes`).
 */
export async function rangesSince(admin: Admin, topics: readonly string[], since: Date, until: Date | null): Promise<PartitionRange[]> {
  const ranges: PartitionRange[] = [];
  for (const topic of topics) {
    const watermarks = await admin.fetchTopicOffsets(topic);
    const fromSince = await admin.fetchTopicOffsetsByTimestamp(topic, since.getTime());
    const fromUntil = until === null ? null : await admin.fetchTopicOffsetsByTimestamp(topic, until.getTime());
    ranges.push(...planTopic(topic, watermarks, fromSince, fromUntil));
  }
  return ranges;
}

export interface RangeReaderOptions {
  kafka: Kafka;
  /** A group of its own (never the service's): it only carries the assignment, nothing is committed. */
  groupId: string;
  ranges: readonly PartitionRange[];
  /**
   * Handles the messages of one fetch that fall in their range, in offset order per partition.
   * A handler that takes long (a paced replay) calls `heartbeat` now and then, so the group does
   * not time its member out mid-batch (nothing is committed, so a rejoin would start the partition
   * over from the end).
   */
  onMessages: (messages: ConsumedMessage[], signal: AbortSignal, heartbeat: () => Promise<void>) => Promise<void>;
  logger: Logger;
  signal?: AbortSignal | undefined;
}

/**
 * Reads every message of `ranges` once and resolves when each partition has reached its end.
 * A consumer of its own seeks each partition to its start and pauses it at its end; nothing is
 * committed and the group is deleted afterwards, so the service's offsets are never touched.
 * Rejects when the consumer crashes or `signal` aborts.
 */
export async function readRanges(options: RangeReaderOptions): Promise<void> {
  const { kafka, groupId, logger } = options;
  const pending = new Map<string, PartitionRange>();
  for (const r of options.ranges) if (r.end > r.start) pending.set(`${r.topic}/${r.partition}`, r);
  if (pending.size === 0) return;
  const topics = [...new Set([...pending.values()].map((r) => r.topic))];

  const controller = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, controller.signal]) : controller.signal;
  const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false, maxWaitTimeInMs: 500, retry: { retries: 8 } });
  let failed = false;
  let settle!: { resolve: () => void; reject: (err: unknown) => void };
  const done = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
  const onAbort = (): void => settle.reject(signal.reason ?? new TransientError('replay aborted'));
  signal.addEventListener('abort', onAbort, { once: true });
  consumer.on(consumer.events.CRASH, (e) => {
    if (!e.payload.restart)
      settle.reject(new TransientError(`the replay consumer stopped: ${String(e.payload.error)}`, { cause: e.payload.error }));
  });

  try {
    await consumer.connect();
    await consumer.subscribe({ topics, fromBeginning: false });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, heartbeat, isRunning, isStale }) => {
        const key = `${batch.topic}/${batch.partition}`;
        const range = pending.get(key);
        if (failed || !range || !isRunning() || isStale()) return;
        const messages: ConsumedMessage[] = [];
        let reachedEnd = false;
        for (const m of batch.messages) {
          const offset = Number(m.offset);
          if (offset < range.start) continue;
          if (offset >= range.end) {
            reachedEnd = true;
            break;
          }
          messages.push({
            topic: batch.topic,
            partition: batch.partition,
            offset: m.offset,
            key: m.key,
            value: m.value,
            headers: m.headers,
            timestampMs: Number(m.timestamp),
          });
        }
        if (messages.length > 0) {
          try {
            // A heartbeat refused mid-batch (a rebalance) is no reason to fail the read.
            await options.onMessages(messages, signal, () =>
              heartbeat().catch((err: unknown) => logger.debug({ err }, 'replay heartbeat failed')),
            );
          } catch (err) {
            // Not retried here: the consumer would fetch the batch again and count it twice.
            failed = true;
            settle.reject(err);
            return;
          }
        }
        await heartbeat();
        // The last offset of a fetch can be a transaction marker or a compacted gap: the end is
        // reached when the next offset to fetch is at or past it.
        const last = messages.at(-1);
        if (reachedEnd || Number(batch.lastOffset()) + 1 >= range.end || (last && Number(last.offset) + 1 >= range.end)) {
          pending.delete(key);
          consumer.pause([{ topic: batch.topic, partitions: [batch.partition] }]);
          if (pending.size === 0) settle.resolve();
        }
      },
    });
    // A fresh group would start at the end; each partition starts where its range does.
    for (const r of pending.values()) consumer.seek({ topic: r.topic, partition: r.partition, offset: String(r.start) });
    await done;
  } finally {
    signal.removeEventListener('abort', onAbort);
    controller.abort();
    await consumer.disconnect().catch((err: unknown) => logger.warn({ err }, 'replay consumer did not disconnect cleanly'));
    await deleteGroup(kafka, groupId, logger);
  }
}

async function deleteGroup(kafka: Kafka, groupId: string, logger: Logger): Promise<void> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    await admin.deleteGroups([groupId]);
  } catch (err) {
    // Nothing was committed, so a left-over empty group is harmless; the broker expires it.
    logger.debug({ err, groupId }, 'could not delete the replay group');
  } finally {
    await admin.disconnect().catch(() => {});
  }
}
