import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pino from 'pino';
import { RETRY_FETCH_BYTES_PER_PARTITION } from '../../src/config.ts';
import type { ConsumedMessage } from '../../src/kafka/partition-consumer.ts';
import { DelayConsumer } from '../../src/retry/delay-consumer.ts';
import { openTestKafka, uniqueName, type TestKafka } from '../support/kafka.ts';
import { waitFor } from '../support/wait-for.ts';
import { noQuarantine } from '../support/no-quarantine.ts';

let k: TestKafka;
const logger = pino({ level: 'silent' });

before(async () => {
  k = await openTestKafka('delay');
});
after(async () => {
  await k.close();
});

/** A delay consumer of `topic` (10 at once per partition) that hands each due message to `handled`. */
function delayConsumer(topic: string, groupId: string, handled: (m: ConsumedMessage) => void): DelayConsumer {
  return new DelayConsumer({
    kafka: k.kafka,
    groupId,
    topics: [topic],
    concurrency: 10,
    ...noQuarantine,
    logger,
    handle: async (m) => void handled(m),
  });
}

const dueAt = (m: ConsumedMessage): number => Number(m.headers!['due-at']!.toString());

test('a delay topic partition is paused until its message is due, and none is handled early', async () => {
  const topic = uniqueName('dc1');
  const groupId = uniqueName('g');
  await k.createTopic(topic, 3);
  const handled: Array<{ due: number; at: number }> = [];
  const paused: number[] = [];
  const consumer = delayConsumer(topic, groupId, (m) => handled.push({ due: dueAt(m), at: Date.now() }));
  consumer.on('paused', (e) => paused.push(e.dueAtMs));
  await consumer.start();
  try {
    const now = Date.now();
    // Spread over every partition, including ones with no committed offset yet (kafkajs #1599).
    await k.produce(
      topic,
      [300, 600, 900, 1200, 1500, 1800].map((d, i) => ({ partition: i % 3, value: `m${i}`, headers: { 'due-at': String(now + d) } })),
    );
    await waitFor(() => handled.length === 6, { what: 'six due messages handled', timeoutMs: 15_000 });
    for (const h of handled) assert.ok(h.at >= h.due, `handled ${h.due - h.at} ms early`);
    assert.ok(paused.length >= 3, 'each partition was paused at its first message not yet due');
    await waitFor(async () => (await k.committedTotal(groupId, topic)) === 6, { what: 'all committed' });
  } finally {
    await consumer.stop();
  }
});

test('a task larger than one delay fetch (RETRY_FETCH_BYTES_PER_PARTITION) is still handed on when due', async () => {
  const topic = uniqueName('dc-big');
  const groupId = uniqueName('g');
  await k.createTopic(topic, 1);
  const handled: Array<{ bytes: number; due: number; at: number }> = [];
  const consumer = delayConsumer(topic, groupId, (m) => handled.push({ bytes: m.value?.length ?? 0, due: dueAt(m), at: Date.now() }));
  await consumer.start();
  try {
    const now = Date.now();
    const big = Buffer.alloc(RETRY_FETCH_BYTES_PER_PARTITION * 3, 'x');
    await k.produce(topic, [
      { partition: 0, value: big, headers: { 'due-at': String(now + 300) } },
      { partition: 0, value: 'small', headers: { 'due-at': String(now + 400) } },
    ]);
    await waitFor(() => handled.length === 2, { what: 'the large task and the one behind it handled', timeoutMs: 15_000 });
    assert.equal(handled[0]!.bytes, big.length);
    for (const h of handled) assert.ok(h.at >= h.due, `handled ${h.due - h.at} ms early`);
  } finally {
    await consumer.stop();
  }
});
