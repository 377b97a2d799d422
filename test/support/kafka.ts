import { randomBytes } from 'node:crypto';
import { Kafka, logLevel, type Admin, type IHeaders, type Producer } from 'kafkajs';
import { retrying } from '../../src/util/backoff.ts';
import { waitFor } from './wait-for.ts';

/** The broker the tests use: KAFKA_BROKERS when set, else the one `npm run services:up` starts. */
export const BROKERS = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');

export function testKafka(clientId = 'test'): Kafka {
  return new Kafka({ clientId, brokers: BROKERS, logLevel: logLevel.NOTHING, retry: { retries: 5 } });
}

/** A topic name no other test uses. */
export function uniqueName(label: string): string {
  return `t.${label}.${Date.now().toString(36)}.${randomBytes(3).toString('hex')}`;
}

export interface TestKafka {
  kafka: Kafka;
  admin: Admin;
  producer: Producer;
  createTopic(topic: string, partitions?: number): Promise<void>;
  produce(
    topic: string,
    messages: Array<{ key?: string | null; value: string | Buffer | null; headers?: IHeaders; partition?: number }>,
  ): Promise<void>;
  /** Committed offsets of a group, summed over partitions (−1 counts as 0). */
  committedTotal(groupId: string, topic: string): Promise<number>;
  /** All messages currently in a topic (reads from the start up to the high watermark). */
  readAll(
    topic: string,
  ): Promise<Array<{ partition: number; offset: string; key: string | null; value: Buffer | null; headers: IHeaders }>>;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export async function openTestKafka(label = 'test'): Promise<TestKafka> {
  const kafka = testKafka(label);
  const admin = kafka.admin();
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await admin.connect();
  await producer.connect();
  const close = async (): Promise<void> => {
    await producer.disconnect();
    await admin.disconnect();
  };
  return {
    kafka,
    admin,
    producer,
    async createTopic(topic, partitions = 3) {
      // kafkajs can report UNKNOWN_TOPIC_OR_PARTITION while leaders are elected (kafkajs #1222).
      await waitFor(
        async () => {
          await admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }], waitForLeaders: true });
          return (await admin.listTopics()).includes(topic);
        },
        { what: `topic ${topic} created`, intervalMs: 300, timeoutMs: 20_000 },
      );
    },
    async produce(topic, messages) {
      // Right after a topic is created, its leader may not be known to this client yet
      // (UNKNOWN_TOPIC_OR_PARTITION, NOT_LEADER...): kafkajs marks those retriable.
      await retrying(() => producer.send({ topic, acks: -1, messages }), {
        initialMs: 300,
        maxMs: 2400,
        signal: AbortSignal.timeout(30_000),
        retryable: (err, failures) => failures < 5 && (err as { retriable?: boolean }).retriable === true,
      });
    },
    async committedTotal(groupId, topic) {
      const [res] = await admin.fetchOffsets({ groupId, topics: [topic] });
      return (res?.partitions ?? []).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
    },
    async readAll(topic) {
      const offsets = await admin.fetchTopicOffsets(topic);
      const total = offsets.reduce((s, p) => s + Number(p.high) - Number(p.low), 0);
      const out: Array<{ partition: number; offset: string; key: string | null; value: Buffer | null; headers: IHeaders }> = [];
      if (total === 0) return out;
      const consumer = kafka.consumer({ groupId: uniqueName('reader'), maxWaitTimeInMs: 100 });
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`readAll(${topic}): got ${out.length} of ${total} messages in 30 s`)), 30_000);
        void consumer.run({
          eachMessage: async ({ partition, message }) => {
            out.push({
              partition,
              offset: message.offset,
              key: message.key?.toString() ?? null,
              value: message.value,
              headers: message.headers ?? {},
            });
            if (out.length >= total) {
              clearTimeout(timer);
              resolve();
            }
          },
        });
      });
      await consumer.disconnect();
      return out;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
