import { Kafka, logLevel as KafkaLogLevel, type Admin, type ITopicConfig, type LogEntry } from 'kafkajs';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import { retryTiers } from '../retry/retry-schedule.ts';

/** Names of the topics this service owns, from the prefix and the retry schedule. */
export interface TopicNames {
  input: readonly string[];
  /** One per retry tier, in schedule order; tiers with the same delay share a topic. */
  retry: readonly string[];
  /** The distinct delay topics. */
  retryDistinct: readonly string[];
  deadLetter: string;
  invalid: string;
}

export function topicNames(config: Pick<Config, 'kafka' | 'retry'>): TopicNames {
  const p = config.kafka.topicPrefix;
  const retry = retryTiers(config.retry.delaysMs).map((t) => `${p}.retry.${t.label}`);
  return {
    input: config.kafka.inputTopics,
    retry,
    retryDistinct: [...new Set(retry)],
    deadLetter: `${p}.dead-letter`,
    invalid: `${p}.invalid`,
  };
}

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

const DAY = 86_400_000;

/**
 * Creates the topics the service needs when they are missing: the input topics (so a fresh
 * installation works), one delay topic per retry tier (retention far beyond its delay, so a
 * stopped dispatcher loses no retry), the dead-letter and the invalid topic. Existing topics are
 * left as they are.
 */
export async function ensureTopics(admin: Admin, names: TopicNames, config: Config, logger: Logger): Promise<string[]> {
  const { topicPartitions: numPartitions, topicReplicationFactor: replicationFactor } = config.kafka;
  const minIsr = String(Math.min(2, replicationFactor));
  // A delivery task carries the event body (up to MAX_EVENT_BYTES) plus headers.
  const maxMessageBytes = String(Math.max(8 * 1024 * 1024, config.delivery.maxEventBytes + 64 * 1024));
  const spec = (topic: string, retentionMs: number): ITopicConfig => ({
    topic,
    numPartitions,
    replicationFactor,
    configEntries: [
      { name: 'retention.ms', value: String(retentionMs) },
      { name: 'min.insync.replicas', value: minIsr },
      { name: 'max.message.bytes', value: maxMessageBytes },
    ],
  });
  const tiers = retryTiers(config.retry.delaysMs);
  const wanted: ITopicConfig[] = [
    ...names.input.map((topic) => ({ topic, numPartitions, replicationFactor })),
    ...names.retryDistinct.map((topic) => spec(topic, Math.max(7 * DAY, 100 * tiers[names.retry.indexOf(topic)]!.delayMs))),
    spec(names.deadLetter, 30 * DAY),
    // Invalid events are kept whole where the broker allows, oversized ones included.
    {
      ...spec(names.invalid, 14 * DAY),
      configEntries: [
        ...spec(names.invalid, 14 * DAY).configEntries!.filter((c) => c.name !== 'max.message.bytes'),
        { name: 'max.message.bytes', value: String(64 * 1024 * 1024) },
      ],
    },
  ];
  for (let attempt = 1; ; attempt++) {
    const existing = new Set(await admin.listTopics());
    const missing = wanted.filter((t) => !existing.has(t.topic));
    if (missing.length === 0) return [];
    try {
      // createTopics answers false (not an error) when a concurrent creator won the race.
      await admin.createTopics({ topics: missing, waitForLeaders: true });
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
