import pino from 'pino';
import { loadConfig } from '../../src/config.ts';
import { startService, type Service } from '../../src/service.ts';
import { BROKERS, uniqueName } from './kafka.ts';

/**
 * Environment for a dispatcher of its own in a test: unique input topic, topic prefix and group,
 * a free HTTP port, and the test's database.
 */
export function testEnv(databaseUrl: string, label: string, overrides: Record<string, string> = {}): Record<string, string> {
  const id = uniqueName(label);
  return {
    KAFKA_BROKERS: BROKERS.join(','),
    DATABASE_URL: databaseUrl,
    INPUT_TOPICS: `${id}.events`,
    TOPIC_PREFIX: `${id}.wh`,
    CONSUMER_GROUP: `${id}.group`,
    HTTP_PORT: '0',
    HTTP_HOST: '127.0.0.1',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    TOPIC_PARTITIONS: '3',
    LAG_POLL_INTERVAL_MS: '1000',
    ...overrides,
  };
}

/** Starts a dispatcher in this process. */
export async function startTestService(env: Record<string, string>): Promise<Service> {
  const config = loadConfig(env);
  const logger = pino({ level: config.logLevel });
  return startService(config, logger);
}
