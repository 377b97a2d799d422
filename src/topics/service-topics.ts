import type { Config } from '../config.ts';
import type { TopicSpec } from '../kafka/kafka-client.ts';
import { retryTopicNames, retryTopicRetention, type RetryTopicNames } from '../retry/retry-topics.ts';

/** Names of the topics this service reads and owns. */
export interface TopicNames extends RetryTopicNames {
  input: readonly string[];
  invalid: string;
}

export function topicNames(config: Pick<Config, 'kafka' | 'retry'>): TopicNames {
  const p = config.kafka.topicPrefix;
  return {
    input: config.kafka.inputTopics,
    ...retryTopicNames(p, config.retry.delaysMs),
    invalid: `${p}.invalid`,
  };
}

const DAY = 86_400_000;

/**
 * The topics the service needs, created when missing: the input topics (so a fresh installation
 * works), the delay and dead-letter topics (retention from the retry schedule) and the invalid topic.
 */
export function topicSpecs(names: TopicNames, config: Pick<Config, 'kafka' | 'retry' | 'delivery'>): TopicSpec[] {
  const { topicPartitions: numPartitions, topicReplicationFactor: replicationFactor } = config.kafka;
  const minIsr = String(Math.min(2, replicationFactor));
  // A delivery task carries the event body (up to MAX_EVENT_BYTES) plus headers.
  const maxMessageBytes = String(Math.max(8 * 1024 * 1024, config.delivery.maxEventBytes + 64 * 1024));
  const owned = (topic: string, retentionMs: number, maxBytes = maxMessageBytes): TopicSpec => ({
    topic,
    numPartitions,
    replicationFactor,
    configs: { 'retention.ms': String(retentionMs), 'min.insync.replicas': minIsr, 'max.message.bytes': maxBytes },
  });
  return [
    ...names.input.map((topic) => ({ topic, numPartitions, replicationFactor })),
    ...[...retryTopicRetention(names, config.retry.delaysMs)].map(([topic, retentionMs]) => owned(topic, retentionMs)),
    // Invalid events are kept whole where the broker allows, oversized ones included.
    owned(names.invalid, 14 * DAY, String(64 * 1024 * 1024)),
  ];
}
