import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pino from 'pino';
import { PartitionConsumer, type ConsumedMessage } from '../../src/kafka/partition-consumer.ts';
import { openTestKafka, uniqueName, type TestKafka } from '../support/kafka.ts';
import { waitFor } from '../support/wait-for.ts';
import { noQuarantine } from '../support/no-quarantine.ts';

let k: TestKafka;
const logger = pino({ level: 'silent' });

before(async () => {
  k = await openTestKafka('pc');
});
after(async () => {
  await k.close();
});

test('a produced message is consumed by the group and its offset committed', async () => {
  const topic = uniqueName('pc1');
  const groupId = uniqueName('g');
  await k.createTopic(topic, 1);
  const seen: string[] = [];
  const consumer = new PartitionConsumer({
    kafka: k.kafka,
    groupId,
    topics: [topic],
    fromBeginning: true,
    concurrency: 10,
    ...noQuarantine,
    logger,
    handle: async (m) => {
      seen.push(m.value!.toString());
    },
  });
  await consumer.start();
  try {
    await k.produce(topic, [{ value: 'hello' }, { value: 'world' }]);
    await waitFor(() => seen.length === 2, { what: 'two messages consumed' });
    await waitFor(async () => (await k.committedTotal(groupId, topic)) === 2, { what: 'offset 2 committed' });
    assert.deepEqual(seen, ['hello', 'world']);
  } finally {
    await consumer.stop();
  }
});

test('the committed offset never passes a message still in flight, while later ones are handled', async () => {
  const topic = uniqueName('pc2');
  const groupId = uniqueName('g');
  await k.createTopic(topic, 1);
  const done = new Set<string>();
  const commits: string[] = [];
  const consumerFor = (slow: (signal: AbortSignal) => Promise<void>): PartitionConsumer => {
    const c = new PartitionConsumer({
      kafka: k.kafka,
      groupId,
      topics: [topic],
      fromBeginning: true,
      concurrency: 50,
      ...noQuarantine,
      commitIntervalMs: 20,
      logger,
      handle: async (m: ConsumedMessage, signal) => {
        if (m.value!.toString() === 'slow') await slow(signal);
        done.add(m.offset);
      },
    });
    c.on('committed', (offsets) => commits.push(...offsets.map((o) => o.offset)));
    return c;
  };
  // The slow message (offset 1) never finishes in the first member; it gives up only on abort.
  const first = consumerFor(
    (signal) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true })),
  );
  await first.start();
  try {
    await k.produce(topic, [{ value: 'a' }, { value: 'slow' }, ...Array.from({ length: 20 }, (_, i) => ({ value: `m${i}` }))]);
    await waitFor(() => done.size === 21, { what: 'all but the slow message handled' });
    await waitFor(async () => (await k.committedTotal(groupId, topic)) === 1, { what: 'offset 1 committed' });
  } finally {
    // Stopping commits everything settled once more, after the 20 later messages were handled:
    // that last commit too must stop at the unsettled message.
    await first.stop(AbortSignal.abort());
  }
  assert.equal(await k.committedTotal(groupId, topic), 1, 'the commit stops at the unsettled message');
  assert.deepEqual([...new Set(commits)], ['1'], 'no commit ever passed offset 1');

  // The next member reads again from the slow message and, once it settles, commits past it all.
  done.clear();
  const second = consumerFor(async () => {});
  await second.start();
  try {
    await waitFor(async () => (await k.committedTotal(groupId, topic)) === 22, { what: 'offset 22 committed after the slow one settles' });
    assert.ok(done.has('1') && !done.has('0'), 'the second member started at the slow message');
  } finally {
    await second.stop();
  }
});

test('a handler that fails is retried, never skipped', async () => {
  const topic = uniqueName('pc3');
  const groupId = uniqueName('g');
  await k.createTopic(topic, 1);
  let calls = 0;
  const consumer = new PartitionConsumer({
    kafka: k.kafka,
    groupId,
    topics: [topic],
    fromBeginning: true,
    concurrency: 5,
    ...noQuarantine,
    logger,
    handle: async () => {
      calls++;
      if (calls < 3) throw new Error('database is down');
    },
  });
  await consumer.start();
  try {
    await k.produce(topic, [{ value: 'x' }]);
    await waitFor(async () => (await k.committedTotal(groupId, topic)) === 1, { what: 'offset committed after retries' });
    assert.equal(calls, 3);
  } finally {
    await consumer.stop();
  }
});

test('with fetches smaller than the backlog, a full window still consumes everything once and commits only settled offsets', async () => {
  // The consumer's fetches read at most 256 KiB of a partition: 1,200 messages of 1 KiB take
  // several fetches, each made while the partition's window is full, and a 600 KiB message, larger
  // than one fetch, still arrives (the broker returns a first record batch whole).
  const topic = uniqueName('pc4');
  const groupId = uniqueName('g');
  await k.createTopic(topic, 1);
  const body = 'x'.repeat(1024);
  for (let i = 0; i < 12; i++)
    await k.produce(
      topic,
      Array.from({ length: 100 }, (_, j) => ({ value: `${i * 100 + j} ${body}` })),
    );
  await k.produce(topic, [{ value: `1200 ${'y'.repeat(600 * 1024)}` }]);
  const seen = new Map<number, number>();
  const settled = new Set<number>();
  let inFlight = 0;
  let maxInFlight = 0;
  const early: string[] = [];
  const consumer = new PartitionConsumer({
    kafka: k.kafka,
    groupId,
    topics: [topic],
    fromBeginning: true,
    concurrency: 8,
    ...noQuarantine,
    commitIntervalMs: 10,
    logger,
    handle: async (m) => {
      const n = Number(m.value!.toString('latin1', 0, 8).split(' ')[0]);
      seen.set(n, (seen.get(n) ?? 0) + 1);
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      await new Promise((r) => setImmediate(r));
      inFlight--;
      settled.add(Number(m.offset));
    },
  });
  consumer.on('committed', (offsets) => {
    for (const o of offsets) {
      const next = Number(o.offset);
      for (let off = 0; off < next; off++) if (!settled.has(off)) early.push(`committed ${next} before offset ${off} settled`);
    }
  });
  await consumer.start();
  try {
    await waitFor(async () => (await k.committedTotal(groupId, topic)) === 1201, { what: 'offset 1201 committed', timeoutMs: 60_000 });
  } finally {
    await consumer.stop();
  }
  assert.equal(seen.size, 1201, 'every message was handled');
  assert.ok(
    [...seen.values()].every((c) => c === 1),
    'none was handled twice',
  );
  assert.ok(maxInFlight <= 8, `at most the window in flight (saw ${maxInFlight})`);
  assert.deepEqual(early, [], 'no commit passed an unsettled offset');
});
