import { once } from 'node:events';
import type { Admin } from 'kafkajs';
import type { Logger } from 'pino';
import pkg from '../package.json' with { type: 'json' };
import { UNCLASSIFIED_ATTEMPTS, type Config } from './config.ts';
import { openDatabase, type DatabaseHandle } from './db/database.ts';
import { migrateAll } from './db/migrator.ts';
import { buildDispatcher } from './delivery/build-dispatcher.ts';
import type { Dispatcher } from './delivery/dispatcher.ts';
import type { KeyOrder } from './ordering/key-order.ts';
import { EndpointCache } from './endpoints/endpoint-cache.ts';
import { EventCatalogCache } from './events/catalog-cache.ts';
import { logEgressSettings } from './delivery/egress-connector.ts';
import { writeSettings } from './endpoints/endpoint-store.ts';
import { createKafka, ensureTopics } from './kafka/kafka-client.ts';
import { startLagPoller } from './kafka/lag-poller.ts';
import { PartitionConsumer } from './kafka/partition-consumer.ts';
import { TopicProducer } from './kafka/topic-producer.ts';
import { DeliveryLogWriter } from './log/delivery-log-writer.ts';
import { startHttpServer } from './metrics/http-server.ts';
import { createMetrics, type Metrics } from './metrics/metrics.ts';
import { watchConsumer } from './metrics/consumer-metrics.ts';
import { dependencyWaits } from './metrics/dependency-waits.ts';
import { checkReadiness } from './metrics/readiness.ts';
import { startFailingEndpointSweep, startMaintenance } from './service-maintenance.ts';
import { startRedeliveryWatcher, type RedeliveryWatcher } from './redelivery/redelivery-watcher.ts';
import { startReplayWatcher, type ReplayWatcher } from './replay/replay-watcher.ts';
import { DelayConsumer } from './retry/delay-consumer.ts';
import { topicNames, topicSpecs, type TopicNames } from './topics/service-topics.ts';
import { settleWithin } from './util/bounded.ts';
import { errorKind } from './util/error-kind.ts';

export const VERSION: string = pkg.version;

/** A running dispatcher: every component, for `main.ts`, the CLI and tests. */
export interface Service {
  readonly config: Readonly<Config>;
  readonly metrics: Metrics;
  readonly dispatcher: Dispatcher;
  /** Per-key ordering of `per_key` endpoints (its events: parked, released). */
  readonly keyOrder: KeyOrder;
  readonly endpoints: EndpointCache;
  /** The event catalog (webhooks.event_types), kept fresh. */
  readonly catalog: EventCatalogCache;
  readonly input: PartitionConsumer;
  /** The delay topics' consumer; its group consumer is `retry.consumer`. */
  readonly retry: DelayConsumer;
  /** Picks up webhooks.redeliver()/recover() requests. */
  readonly redeliveries: RedeliveryWatcher;
  /** Runs webhooks.replay() requests. */
  readonly replays: ReplayWatcher;
  readonly topics: TopicNames;
  readonly database: DatabaseHandle;
  /** Port of the metrics and health server. */
  readonly httpPort: number;
  /** Resolves when a consumer stops for good (the process should exit). */
  readonly crashed: Promise<Error>;
  /** Graceful stop, bounded by SHUTDOWN_TIMEOUT_MS. Safe to call twice. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Starts the dispatcher: Postgres (optionally migrating), topics, the endpoint index, the input
 * and delay consumers, and the metrics/health server. On failure midway, what was started is
 * stopped again before the error is rethrown.
 */
export async function startService(config: Readonly<Config>, logger: Logger): Promise<Service> {
  const cleanups: Array<() => Promise<unknown>> = [];
  // Each step is awaited in turn, but never past `deadline`: with Kafka or Postgres down, a
  // disconnect may hang, and the steps after it (the health server last) must still run.
  const cleanup = async (deadline?: AbortSignal): Promise<void> => {
    for (const c of cleanups.splice(0).reverse()) {
      const step = c().catch((err: unknown) => logger.warn({ err }, 'cleanup step failed'));
      if ((await settleWithin(step, deadline)) === 'timeout') logger.warn('shutdown deadline passed; not waiting for a cleanup step');
    }
  };
  try {
    return await start(config, logger, cleanups, cleanup);
  } catch (err) {
    await cleanup();
    throw err;
  }
}

async function start(
  config: Readonly<Config>,
  logger: Logger,
  cleanups: Array<() => Promise<unknown>>,
  cleanup: (deadline?: AbortSignal) => Promise<void>,
): Promise<Service> {
  const metrics = createMetrics({ perEndpoint: config.metrics.perEndpoint, version: VERSION });
  let stopping = false;

  const database = openDatabase(config.database.url, config.database.poolSize, 'dialer-webhooks', config.database);
  cleanups.push(() => database.db.destroy());
  if (config.database.migrateOnStart) {
    await migrateAll(database.pool, {
      adminDir: config.database.adminMigrationsDir,
      variables: config.database.adminVariables,
      onApplied: (set, r) => r.status === 'applied' && logger.info(r, set === 'admin' ? 'admin migration applied' : 'migration applied'),
    });
  }
  await writeSettings(database.db, { requireHttps: config.delivery.requireHttps, allowNetworks: config.delivery.allowNetworks });
  logEgressSettings(config.delivery, logger);
  await startMaintenance(database.pool, config, logger, cleanups);

  const kafka = createKafka(config.kafka, logger);
  const admin: Admin = kafka.admin();
  await admin.connect();
  cleanups.push(() => admin.disconnect());
  const topics = topicNames(config);
  await ensureTopics(admin, topicSpecs(topics, config), logger);

  const producer = new TopicProducer(kafka);
  await producer.connect();
  cleanups.push(() => producer.disconnect());

  // Both caches reload from the same database on the same period; only their logs differ.
  const cacheOptions = (component: string) => ({
    db: database.db,
    databaseUrl: config.database.url,
    reloadIntervalMs: config.endpoints.reloadIntervalMs,
    logger: logger.child({ component }),
  });
  const endpoints = new EndpointCache(cacheOptions('endpoints'));
  endpoints.on('reloaded', (e) => {
    metrics.endpointReloads.inc({ reason: e.reason });
    metrics.endpointsEnabled.set(e.count);
  });
  await endpoints.start();
  cleanups.push(() => endpoints.stop());
  startFailingEndpointSweep({ pool: database.pool, producer, endpoints, metrics, logger }, config, cleanups);

  const catalog = new EventCatalogCache(cacheOptions('event-catalog'));
  await catalog.start();
  cleanups.push(() => catalog.stop());

  const logWriter = new DeliveryLogWriter({
    pool: database.pool,
    logger: logger.child({ component: 'delivery-log' }),
    batchSize: config.log.batchSize,
    flushIntervalMs: config.log.flushIntervalMs,
    onFlush: (rows, seconds) => {
      metrics.deliveryLogRowsWritten.inc(rows);
      metrics.deliveryLogFlush.observe(seconds);
    },
    onFlushError: () => metrics.deliveryLogFlushErrors.inc(),
    onQueueChange: (n) => metrics.deliveryLogQueueRows.set(n),
  });
  // Closed once: by the consumers' step on the way down (see below), or here after a failed start.
  let logClosed: Promise<void> | null = null;
  const closeLog = (): Promise<void> => (logClosed ??= logWriter.close(AbortSignal.timeout(config.shutdownLogFlushMs)));
  cleanups.push(closeLog);

  const waits = dependencyWaits(metrics);
  const { dispatcher, deliverer, keyOrder, keyQueueSweep, decodeEvent } = buildDispatcher(config, {
    backoffObserver: waits.observer,
    database,
    endpoints,
    catalog,
    logWriter,
    producer,
    topics,
    metrics,
    logger,
    userAgent: `dialer-webhooks/${VERSION}`,
  });
  cleanups.push(() => deliverer.close());
  cleanups.push(async () => keyQueueSweep.stop());

  const failures = {
    classify: errorKind,
    quarantine: dispatcher.quarantine,
    maxUnclassifiedAttempts: UNCLASSIFIED_ATTEMPTS,
    rebalanceDrainMs: config.kafka.rebalanceDrainMs,
  };
  const input = new PartitionConsumer({
    kafka,
    groupId: config.kafka.groupId,
    topics: topics.input,
    fromBeginning: config.kafka.inputStartFrom === 'earliest',
    concurrency: config.delivery.partitionConcurrency,
    handle: dispatcher.handleInput,
    ...failures,
    logger: logger.child({ component: 'input-consumer' }),
  });
  const retry = new DelayConsumer({
    kafka,
    groupId: `${config.kafka.groupId}.retry`,
    topics: topics.retryDistinct,
    concurrency: config.delivery.partitionConcurrency,
    handle: dispatcher.handleRetry,
    ...failures,
    logger: logger.child({ component: 'retry-consumer' }),
  });
  let crash: (e: Error) => void = () => {};
  const crashed = new Promise<Error>((resolve) => (crash = resolve));
  watchConsumer(metrics, logger, 'input', input, crash);
  watchConsumer(metrics, logger, 'retry', retry.consumer, crash);
  // Stop fetching and drain until the deadline, then abort. Once that deadline has passed, the log
  // writer closes within SHUTDOWN_LOG_FLUSH_MS even while the consumers still wait: records stuck
  // on a dead Postgres give up (their offsets stay uncommitted), so the stop stays bounded.
  cleanups.push(async () => {
    const deadline = AbortSignal.timeout(config.shutdownTimeoutMs - config.shutdownLogFlushMs);
    const consumers = Promise.all([input.stop(deadline), retry.stop(deadline)]);
    await Promise.race([consumers, once(deadline, 'abort')]);
    await closeLog();
    await consumers;
  });
  await retry.start();
  await input.start();

  // Requests from webhooks.redeliver()/recover() go to the first delay topic, due at once; the
  // retry consumer sends them (fresh endpoint lookup and signatures, same delivery id).
  const redeliveries = await startRedeliveryWatcher({
    pool: database.pool,
    databaseUrl: config.database.url,
    producer,
    firstRetryTopic: topics.retry[0]!,
    logger: logger.child({ component: 'redelivery' }),
  });
  cleanups.push(() => redeliveries.stop());

  // webhooks.replay() requests: read from Kafka with a group of their own, queued like redeliveries.
  const replays = await startReplayWatcher(config, { database, kafka, producer, decodeEvent, topics, metrics, logger });
  cleanups.push(() => replays.stop());

  // Its own admin: a kafkajs admin that once read a since-deleted topic fails every later call.
  const lagAdmin = kafka.admin();
  await lagAdmin.connect();
  cleanups.push(() => lagAdmin.disconnect());
  const lag = startLagPoller({
    admin: lagAdmin,
    groups: [
      { groupId: config.kafka.groupId, topics: [...topics.input] },
      { groupId: `${config.kafka.groupId}.retry`, topics: [...topics.retryDistinct] },
    ],
    intervalMs: config.metrics.lagPollIntervalMs,
    gauge: metrics.consumerLag,
    logger: logger.child({ component: 'lag-poller' }),
  });
  cleanups.push(() => lag.stop());

  const http = await startHttpServer({
    host: config.http.host,
    port: config.http.port,
    registry: metrics.registry,
    logger: logger.child({ component: 'http' }),
    readiness: () =>
      checkReadiness({
        pool: database.pool,
        admin,
        input,
        retry: retry.consumer,
        endpoints,
        redeliveries,
        dependencyWaits: () => waits.count(),
        stopping: () => stopping,
        logger,
      }),
  });
  // The health server goes last on the way down, so probes see "not ready" while draining.
  cleanups.unshift(() => http.close());
  logger.info({ version: VERSION, inputTopics: topics.input, httpPort: http.port }, 'dispatcher started');

  let stopped: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopping = true;
    stopped ??= (async () => {
      logger.info('stopping: draining in-flight deliveries');
      await cleanup(AbortSignal.timeout(config.shutdownTimeoutMs));
      logger.info('stopped');
    })();
    return stopped;
  };
  return {
    config,
    metrics,
    dispatcher,
    keyOrder,
    endpoints,
    catalog,
    input,
    retry,
    redeliveries,
    replays,
    topics,
    database,
    httpPort: http.port,
    crashed,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
