import { Kafka, logLevel as KafkaLogLevel, type Admin, type ITopicConfig, type LogEntry } from 'kafkajs';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';

/** The kafkajs client, logging through pino. kafkajs stays behind `src/kafka/`. */
export function createKafka(config: Config['kafka'], logger: Logger): Kafka {
  const log = logger.child({ component: 'kafkajs' });
  return new Kafka({
    clientId: config.clientId,
    brokers: [...config.brokers],
    ssl: config.ssl,
    ...(config.sasl ? { sasl: { ...config.sasl } as never } : {}),
    connectionTimeout: 5000,
    requestTimeout: 30_000,
    retry: { initialRetryTime: 200, retries: 8, maxRetryTime: 10_000 },
    logLevel: KafkaLogLevel.WARN,
    logCreator:
      () =>
      ({ level, log: entry }: LogEntry) => {
        const { message, ...rest } = entry;
        if (level <= KafkaLogLevel.ERROR) log.error(rest, message);
        else if (level === KafkaLogLevel.WARN) log.warn(rest, message);
        else log.debug(rest, message);
      },
  });
}

/** A topic to create if it is missing: partitions, replication and topic-level configs. */
export interface TopicSpec {
  topic: string;
  numPartitions: number;
  replicationFactor: number;
  /** Topic configs (`retention.ms`, `max.message.bytes`, ...); none means the broker's defaults. */
  configs?: Readonly<Record<string, string>>;
}

/**
 * Creates the topics of `wanted` that are missing; existing topics are left as they are. Returns
 * the names created.
 */
export async function ensureTopics(admin: Admin, wanted: readonly TopicSpec[], logger: Logger): Promise<string[]> {
  const toCreate = (t: TopicSpec): ITopicConfig => ({
    topic: t.topic,
    numPartitions: t.numPartitions,
    replicationFactor: t.replicationFactor,
    ...(t.configs ? { configEntries: Object.entries(t.configs).map(([name, value]) => ({ name, value })) } : {}),
  });
  for (let attempt = 1; ; attempt++) {
    const existing = new Set(await admin.listTopics());
    const missing = wanted.filter((t) => !existing.has(t.topic));
    if (missing.length === 0) return [];
    try {
      // createTopics answers false (not an error) when a concurrent creator won the race.
      await admin.createTopics({ topics: missing.map(toCreate), waitForLeaders: true });
      logger.info({ topics: missing.map((t) => t.topic) }, 'created topics');
      return missing.map((t) => t.topic);
    } catch (err) {
      // kafkajs can report UNKNOWN_TOPIC_OR_PARTITION while the new topics' leaders are elected
      // (kafkajs #1222): look again after a pause.
      if (attempt >= 5) throw err;
      logger.warn({ err, attempt }, 'creating topics failed; trying again');
      await new Promise((r) => setTimeout(r, 500 * attempt));
    }
  }
}
