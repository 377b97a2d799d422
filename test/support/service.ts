import pino from 'pino';
import { loadConfig } from '../../src/config.ts';
import { startService, type Service } from '../../src/service.ts';
import { createTestDatabase, TEST_ALLOW_NETWORKS, type TestDatabase } from './database.ts';
import { BROKERS, openTestKafka, uniqueName, type TestKafka } from './kafka.ts';
import { TestReceiver, type Behaviour } from './receiver.ts';

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
    // Receivers are plain-http servers on loopback: both are refused by default.
    REQUIRE_HTTPS: 'false',
    DELIVERY_ALLOW_NETWORKS: TEST_ALLOW_NETWORKS,
    ...overrides,
  };
}

/** Starts a dispatcher in this process. */
export async function startTestService(env: Record<string, string>): Promise<Service> {
  const config = loadConfig(env);
  const logger = pino({ level: config.logLevel });
  return startService(config, logger);
}

/** What a dispatcher test file needs: its own database, Kafka client, receiver and service. */
export interface DispatcherFixture {
  db: TestDatabase;
  kafka: TestKafka;
  receiver: TestReceiver;
  service: Service;
  env: Record<string, string>;
  /** The input topic. */
  input: string;
  /** Stops the service, then closes the receiver, Kafka and the database. */
  close(): Promise<void>;
}

/** Columns of webhooks.endpoints a fixture may set beside the name, URL, secret and types. */
export type EndpointColumns = { max_per_second?: number | null; max_in_flight?: number | null };

/**
 * Opens a fixture with endpoints (`[name, behaviour, columns?]`, served at `/<name>` with
 * `secret`, each subscribed to `eventTypes`) in place before the dispatcher starts.
 */
export async function openDispatcherFixture(
  label: string,
  options: {
    secret: string;
    endpoints: ReadonlyArray<readonly [string, Behaviour] | readonly [string, Behaviour, EndpointColumns]>;
    eventTypes?: string[];
    env?: Record<string, string>;
  },
): Promise<DispatcherFixture> {
  const db = await createTestDatabase(label);
  const kafka = await openTestKafka(label);
  const receiver = await TestReceiver.start();
  for (const [name, behaviour, columns] of options.endpoints) {
    await db.db
      .insertInto('webhooks.endpoints')
      .values({
        name,
        url: receiver.route(`/${name}`, options.secret, behaviour),
        secret: options.secret,
        event_types: options.eventTypes ?? ['call.ended'],
        ...columns,
      })
      .execute();
  }
  const env = testEnv(db.url, label, options.env);
  const service = await startTestService(env);
  return {
    db,
    kafka,
    receiver,
    service,
    env,
    input: env.INPUT_TOPICS!,
    async close() {
      await service.stop();
      await receiver.close();
      await kafka.close();
      await db.drop();
    },
  };
}
