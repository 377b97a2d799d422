import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { Partitioners } from 'kafkajs';
import { TopicProducer } from '../../src/kafka/topic-producer.ts';
import { openTestKafka, uniqueName } from '../support/kafka.ts';

test("the service's producer puts each keyed message on the partition kafkajs's default partitioner picks, and unkeyed ones on any", async () => {
  await using k = await openTestKafka('topic-producer');
  const topic = uniqueName('topic-producer');
  await k.createTopic(topic, 6);
  const producer = new TopicProducer(k.kafka);
  await producer.connect();
  try {
    const keys = Array.from({ length: 60 }, () => randomUUID());
    await Promise.all([
      ...keys.map((key) => producer.send(topic, { key, value: Buffer.from(key), headers: { n: key } })),
      ...[1, 2, 3].map((n) => producer.send(topic, { key: null, value: Buffer.from(`unkeyed ${n}`), headers: {} })),
    ]);
  } finally {
    await producer.disconnect();
  }
  const messages = await k.readAll(topic);
  assert.equal(messages.length, 63);
  const kafkajs = Partitioners.DefaultPartitioner();
  const partitionMetadata = Array.from({ length: 6 }, (_, i) => ({
    partitionId: i,
    leader: 1,
    replicas: [1],
    isr: [1],
    partitionErrorCode: 0,
  }));
  for (const m of messages.filter((x) => x.key !== null)) {
    assert.equal(m.value?.toString(), m.key);
    assert.equal(m.partition, kafkajs({ topic, partitionMetadata, message: { key: m.key, value: null } }), `key ${m.key}`);
  }
  assert.deepEqual(
    messages
      .filter((x) => x.key === null)
      .map((x) => x.value?.toString())
      .sort(),
    ['unkeyed 1', 'unkeyed 2', 'unkeyed 3'],
  );
});
