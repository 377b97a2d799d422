import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import pino from 'pino';
import { PartitionConsumer, type ConsumedMessage } from '../../src/kafka/partition-consumer.ts';
import { BROKERS, openTestKafka, uniqueName, type TestKafka } from '../support/kafka.ts';
import { waitFor } from '../support/wait-for.ts';
import { noQuarantine } from '../support/no-quarantine.ts';

let k: TestKafka;

before(async () => {
  k = await openTestKafka('rebalance');
});
after(async () => {
  await k.close();
});

/** A kafkajs client that keeps the messages of its error log lines ("Error when calling eachBatch" ...). */
function recordingKafka(): { kafka: Kafka; errors: string[] } {
  const errors: string[] = [];
  const kafka = new Kafka({
    clientId: 'rebalance-test',
    brokers: BROKERS,
    logLevel: logLevel.ERROR,
    logCreator: () => (entry) => {
      errors.push(`${entry.log.message}: ${String(entry.log.error ?? '')}`);
    },
  });
  return { kafka, errors };
}

/** A logger that keeps its error lines, to assert that nothing crashed. */
function recordingLogger(): { logger: pino.Logger; errors: string[] } {
  const errors: string[] = [];
  const logger = pino(
    { level: 'error' },
    {
      write: (line: string) => {
        errors.push(line);
      },
    },
  );
  return { logger, errors };
}

test('a member keeps consuming through a rebalance: trackers start over, old work ends before the new generation, nothing is handled twice at once', async () => {
  const topic = uniqueName('rb1');
  const groupId = uniqueName('g');
  await k.createTopic(topic, 4);
  const active = new Map<string, number>();
  const overlaps: string[] = [];
  const done = new Set<string>();
  let slow = true;
  const handle = async (m: ConsumedMessage, signal: AbortSignal): Promise<void> => {
    const id = `${m.partition}/${m.offset}`;
    const n = (active.get(id) ?? 0) + 1;
    active.set(id, n);
    if (n > 1) overlaps.push(id);
    try {
      // Slow enough that the rebalance finds every message in flight and uncommitted; below the
      // concurrency, so the first member's fetch loop is free to notice the rebalance at once.
      if (slow)
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, 5000);
          signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
        });
      signal.throwIfAborted();
      done.add(id);
    } finally {
      active.set(id, active.get(id)! - 1);
    }
  };
  const a = recordingLogger();
  const b = recordingLogger();
  const client = recordingKafka();
  const first = new PartitionConsumer({
    kafka: client.kafka,
    groupId,
    topics: [topic],
    fromBeginning: true,
    concurrency: 50,
    ...noQuarantine,
    commitIntervalMs: 20,
    logger: a.logger,
    handle,
  });
  const second = new PartitionConsumer({
    kafka: client.kafka,
    groupId,
    topics: [topic],
    fromBeginning: true,
    concurrency: 50,
    ...noQuarantine,
    commitIntervalMs: 20,
    logger: b.logger,
    handle,
  });
  await first.start();
  try {
    await waitFor(() => first.consuming, { what: 'the first member joined' });
    const total = 12;
    await k.produce(
      topic,
      Array.from({ length: total }, (_, i) => ({ partition: i % 4, value: `m${i}` })),
    );
    await waitFor(() => first.inFlight === total, { what: 'every message in flight on the first member' });
    // The second member joins while the first has work in flight: a rebalance.
    await second.start();
    await waitFor(() => second.consuming, { what: 'the second member joined', timeoutMs: 30_000 });
    slow = false;
    await waitFor(() => done.size === total, { what: `all ${total} handled`, timeoutMs: 60_000 });
    await waitFor(async () => (await k.committedTotal(groupId, topic)) === total, { what: 'everything committed', timeoutMs: 30_000 });
    assert.deepEqual(
      client.errors.filter((e) => e.includes('eachBatch')),
      [],
      'a partition fetched again from its committed offset is taken as it comes (no "offset N added after M")',
    );
    assert.deepEqual(
      [...a.errors, ...b.errors].filter((l) => l.includes('crashed')),
      [],
      'no consumer crashed',
    );
    assert.deepEqual(overlaps, [], 'no message was handled by two generations at once');
  } finally {
    await Promise.all([first.stop(), second.stop()]);
  }
});
