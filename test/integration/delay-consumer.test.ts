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

/** A delay consumer of `topic` (10 at once per partition, unless told) that hands each due message to `handled`. */
function delayConsumer(
  topic: string,
  groupId: string,
  handled: (m: ConsumedMessage) => void,
  options: { holdMs?: number; concurrency?: number } = {},
): DelayConsumer {
  return new DelayConsumer({
    kafka: k.kafka,
    groupId,
    topics: [topic],
    concurrency: options.concurrency ?? 10,
    ...noQuarantine,
    logger,
    handle: async (m) => void handled(m),
    ...(options.holdMs === undefined ? {} : { holdMs: options.holdMs }),
  });
}

const dueAt = (m: ConsumedMessage): number => Number(m.headers!['due-at']!.toString());

test('without a hold, a delay topic partition is paused until its message is due, and none is handled early', async () => {
  const topic = uniqueName('dc1');
  const groupId = uniqueName('g');
  await k.createTopic(topic, 3);
  const handled: Array<{ due: number; at: number }> = [];
  const paused: number[] = [];
  const consumer = delayConsumer(topic, groupId, (m) => handled.push({ due: dueAt(m), at: Date.now() }), { holdMs: 0 });
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

test('tasks due within the hold are held until due without a pause, and not committed before; a later one pauses the partition', async () => {
  const topic = uniqueName('dc-hold');
  const groupId = uniqueName('g');
  await k.createTopic(topic, 1);
  const handled: Array<{ due: number; at: number }> = [];
  const paused: number[] = [];
  const consumer = delayConsumer(topic, groupId, (m) => handled.push({ due: dueAt(m), at: Date.now() }), { holdMs: 3000 });
  consumer.on('paused', (e) => paused.push(e.dueAtMs));
  await consumer.start();
  try {
    const now = Date.now();
    const dues = [1500, 1600, 1700, 1800, 1900, 9000].map((d) => now + d);
    await k.produce(
      topic,
      dues.map((due, i) => ({ partition: 0, value: `m${i}`, headers: { 'due-at': String(due) } })),
    );
    // The five due soon are admitted (held in memory) before any is due, none committed yet.
    await waitFor(() => consumer.consumer.inFlight === 5, { what: 'five tasks held', timeoutMs: 10_000 });
    assert.ok(Date.now() < dues[0]!, 'held before the first was due');
    assert.equal(handled.length, 0);
    assert.equal(await k.committedTotal(groupId, topic), 0, 'nothing committed past a held task');
    await waitFor(() => handled.length === 5, { what: 'the five held tasks handled', timeoutMs: 15_000 });
    assert.deepEqual(paused, [dues[5]], 'paused once, at the task due beyond the hold');
    await waitFor(async () => (await k.committedTotal(groupId, topic)) === 5, { what: 'the five committed' });
    await waitFor(() => handled.length === 6, { what: 'the last task handled', timeoutMs: 20_000 });
    for (const h of handled) assert.ok(h.at >= h.due, `handled ${h.due - h.at} ms early`);
    await waitFor(async () => (await k.committedTotal(groupId, topic)) === 6, { what: 'all committed' });
  } finally {
    await consumer.stop();
  }
});

test('with every slot held, the next task pauses its partition until it is due, and none is handled early', async () => {
  const topic = uniqueName('dc-full');
  const groupId = uniqueName('g');
  await k.createTopic(topic, 1);
  const handled: Array<{ due: number; at: number }> = [];
  const paused: number[] = [];
  const consumer = delayConsumer(topic, groupId, (m) => handled.push({ due: dueAt(m), at: Date.now() }), { holdMs: 5000, concurrency: 2 });
  consumer.on('paused', (e) => paused.push(e.dueAtMs));
  await consumer.start();
  try {
    const now = Date.now();
    const dues = [1000, 1100, 1200, 1300].map((d) => now + d);
    await k.produce(
      topic,
      dues.map((due, i) => ({ partition: 0, value: `m${i}`, headers: { 'due-at': String(due) } })),
    );
    await waitFor(() => handled.length === 4, { what: 'four tasks handled', timeoutMs: 15_000 });
    for (const h of handled) assert.ok(h.at >= h.due, `handled ${h.due - h.at} ms early`);
    assert.ok(paused.includes(dues[2]!), 'paused at the third task, both slots being held');
    await waitFor(async () => (await k.committedTotal(groupId, topic)) === 4, { what: 'all committed' });
  } finally {
    await consumer.stop();
  }
});

test('stopping does not wait for a held task: it stays uncommitted and the next consumer of the group hands it on when due', async () => {
  const topic = uniqueName('dc-stop');
  const groupId = uniqueName('g');
  await k.createTopic(topic, 1);
  const handled: Array<{ due: number; at: number }> = [];
  const first = delayConsumer(topic, groupId, (m) => handled.push({ due: dueAt(m), at: Date.now() }), { holdMs: 30_000 });
  await first.start();
  const due = Date.now() + 12_000;
  let stopped = false;
  try {
    await k.produce(topic, [{ partition: 0, value: 'held', headers: { 'due-at': String(due) } }]);
    await waitFor(() => first.consumer.inFlight === 1, { what: 'the task held', timeoutMs: 10_000 });
    await first.stop();
    stopped = true;
    assert.ok(Date.now() < due, 'stop returned before the held task was due');
    assert.equal(handled.length, 0, 'the held task was not handed on by the stopped consumer');
    assert.equal(await k.committedTotal(groupId, topic), 0, 'the held task was not committed');
  } finally {
    if (!stopped) await first.stop();
  }
  const second = delayConsumer(topic, groupId, (m) => handled.push({ due: dueAt(m), at: Date.now() }), { holdMs: 30_000 });
  await second.start();
  try {
    await waitFor(() => handled.length === 1, { what: 'the task handed on by the next consumer', timeoutMs: 30_000 });
    assert.ok(handled[0]!.at >= due, `handled ${due - handled[0]!.at} ms early`);
    await waitFor(async () => (await k.committedTotal(groupId, topic)) === 1, { what: 'committed' });
  } finally {
    await second.stop();
  }
});
