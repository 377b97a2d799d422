import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pino from 'pino';
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

test('a delay topic partition is paused until its message is due, and none is handled early', async () => {
  const topic = uniqueName('dc1');
  const groupId = uniqueName('g');
  await k.createTopic(topic, 3);
  const handled: Array<{ due: number; at: number }> = [];
  const paused: number[] = [];
  const consumer = new DelayConsumer({
    kafka: k.kafka,
    groupId,
    topics: [topic],
    concurrency: 10,
    ...noQuarantine,
    logger,
    handle: async (m) => {
      handled.push({ due: Number(m.headers!['due-at']!.toString()), at: Date.now() });
    },
  });
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
