import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { lagKey, startLagPoller } from '../../src/kafka/lag-poller.ts';
import { createMetrics } from '../../src/metrics/metrics.ts';
import { openTestKafka, uniqueName, type TestKafka } from '../support/kafka.ts';
import { waitFor } from '../support/wait-for.ts';

function capturingLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { logger, lines };
}

async function gaugeValue(metrics: ReturnType<typeof createMetrics>, group: string, topic: string) {
  const data = await metrics.consumerLag.get();
  return data.values.find((v) => v.labels.group === group && v.labels.topic === topic)?.value;
}

/** Consumes `count` messages of `topic` with a real consumer group, committing each, then leaves. */
async function consumeAndCommit(tk: TestKafka, groupId: string, topic: string, count: number): Promise<void> {
  const consumer = tk.kafka.consumer({ groupId, maxWaitTimeInMs: 100 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    let done = 0;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`committed ${done} of ${count} messages in 30 s`)), 30_000);
      void consumer.run({
        autoCommit: false,
        eachMessage: async ({ partition, message }) => {
          if (done >= count) return; // read but never committed
          await consumer.commitOffsets([{ topic, partition, offset: String(Number(message.offset) + 1) }]);
          done += 1;
          if (done === count) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
}

describe('lag poller', () => {
  let tk: TestKafka;
  const topics: string[] = [];

  before(async () => {
    tk = await openTestKafka('lag-poller-test');
  });
  after(async () => {
    if (topics.length > 0) await tk.admin.deleteTopics({ topics }).catch(() => undefined);
    await tk.close();
  });

  async function topicWithMessages(count: number): Promise<string> {
    const topic = uniqueName('lag');
    topics.push(topic);
    await tk.createTopic(topic, 3);
    await tk.produce(
      topic,
      Array.from({ length: count }, (_, i) => ({ value: `m${i}`, partition: i % 3 })),
    );
    return topic;
  }

  it('reports high - committed summed over partitions: all 10 for a group that never consumed, 6 after 4 commits', async () => {
    const topic = await topicWithMessages(10);
    const idle = uniqueName('idle-group');
    const active = uniqueName('active-group');
    const metrics = createMetrics({ perEndpoint: false });
    const { logger } = capturingLogger();
    await using poller = startLagPoller({
      admin: tk.admin,
      groups: [
        { groupId: idle, topics: [topic] },
        { groupId: active, topics: [topic] },
      ],
      intervalMs: 100,
      gauge: metrics.consumerLag,
      logger,
    });

    const first = await poller.pollOnce();
    assert.equal(first.get(lagKey(idle, topic)), 10);
    assert.equal(first.get(lagKey(active, topic)), 10);
    assert.equal(await gaugeValue(metrics, idle, topic), 10);

    await consumeAndCommit(tk, active, topic, 4);
    assert.equal(await tk.committedTotal(active, topic), 4, 'the consumer committed exactly 4');

    // The poller's own timer picks the commit up; the idle group stays where it was.
    await waitFor(async () => (await gaugeValue(metrics, active, topic)) === 6, { what: 'lag 6 for the active group' });
    const later = await poller.pollOnce();
    assert.equal(later.get(lagKey(active, topic)), 6);
    assert.equal(later.get(lagKey(idle, topic)), 10);

    // A stalled consumer shows as growing lag: produce more, nobody consumes.
    await tk.produce(topic, [
      { value: 'n1', partition: 0 },
      { value: 'n2', partition: 1 },
    ]);
    await waitFor(async () => (await gaugeValue(metrics, active, topic)) === 8, { what: 'lag 8 after 2 more messages' });
    assert.equal((await poller.pollOnce()).get(lagKey(idle, topic)), 12);
  });

  it('logs a topic it cannot read, still reports the others, and keeps the last value after a failed read', async () => {
    const good = await topicWithMessages(3);
    const missing = uniqueName('missing');
    const group = uniqueName('group');
    // The topic this test deletes is known only to clients of this test: in kafkajs 2.2.4 a client
    // that has used a topic fails every later call once that topic is deleted.
    const doomed = uniqueName('doomed');
    await tk.createTopic(doomed, 3);
    const producer = tk.kafka.producer();
    const admin = tk.kafka.admin({ retry: { retries: 1, initialRetryTime: 50, maxRetryTime: 200 } });
    await producer.connect();
    await admin.connect();
    try {
      await producer.send({
        topic: doomed,
        acks: -1,
        messages: Array.from({ length: 5 }, (_, i) => ({ value: `d${i}`, partition: i % 3 })),
      });
      await producer.disconnect();
      const metrics = createMetrics({ perEndpoint: false });
      const { logger, lines } = capturingLogger();
      const warnings = (topic: string) => lines.filter((l) => l.level === 40 && l.topic === topic).length;
      await using poller = startLagPoller({
        admin,
        groups: [{ groupId: group, topics: [good, doomed, missing] }],
        intervalMs: 60_000,
        gauge: metrics.consumerLag,
        logger,
      });
      const first = await poller.pollOnce();
      assert.equal(first.get(lagKey(group, good)), 3);
      assert.equal(first.get(lagKey(group, doomed)), 5);
      assert.equal(first.has(lagKey(group, missing)), false);
      assert.equal(await gaugeValue(metrics, group, missing), undefined);
      assert.equal(warnings(missing), 1, `one warning names the missing topic; got ${JSON.stringify(lines.map((l) => l.msg))}`);
      assert.equal(warnings(good), 0);

      await tk.admin.deleteTopics({ topics: [doomed] });
      // Metadata may trail the deletion for a moment: poll until a read fails.
      const afterDelete = await waitFor(
        async () => {
          const lags = await poller.pollOnce();
          return warnings(doomed) > 0 ? lags : null;
        },
        { what: 'a warning about the deleted topic' },
      );
      assert.equal(afterDelete.get(lagKey(group, doomed)), 5, 'the last value is kept');
      assert.equal(await gaugeValue(metrics, group, doomed), 5);
      assert.equal(afterDelete.get(lagKey(group, good)), 3);
    } finally {
      await producer.disconnect();
      await admin.disconnect();
    }
  });

  it('stops on abort, and stop() can be called twice', async () => {
    const topic = await topicWithMessages(1);
    const metrics = createMetrics({ perEndpoint: false });
    const { logger } = capturingLogger();
    const controller = new AbortController();
    const poller = startLagPoller({
      admin: tk.admin,
      groups: [{ groupId: uniqueName('group'), topics: [topic] }],
      intervalMs: 50,
      gauge: metrics.consumerLag,
      logger,
      signal: controller.signal,
    });
    await waitFor(async () => (await metrics.consumerLag.get()).values.length === 1, { what: 'a first poll' });
    controller.abort();
    await poller.stop();
    await poller.stop();
  });
});
