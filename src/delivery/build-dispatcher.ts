import type { Logger } from 'pino';
import { KEY_QUEUE_SWEEP_MS, THROTTLE_RECOVERY_MS, type Config } from '../config.ts';
import type { DatabaseHandle } from '../db/database.ts';
import type { EndpointIndex } from '../endpoints/endpoint-index.ts';
import { findEndpointsById } from '../endpoints/endpoint-store.ts';
import type { EventCatalog } from '../events/catalog.ts';
import { createEventDecoder, type EventDecoder } from '../events/event-decoder.ts';
import { createRegistryDecoder } from '../events/registry-decoder.ts';
import type { TopicProducer } from '../kafka/topic-producer.ts';
import type { DeliveryLogWriter } from '../log/delivery-log-writer.ts';
import { DeliveryStatusLookup } from '../log/delivery-status-lookup.ts';
import { DeliveryClaims } from '../log/delivery-claims.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { KeyOrder } from '../ordering/key-order.ts';
import { BatchedLookup } from '../util/batched-lookup.ts';
import type { PeriodicJob } from '../util/periodic-job.ts';
import { RetryScheduler } from '../retry/retry-scheduler.ts';
import { retryTiers } from '../retry/retry-schedule.ts';
import type { TopicNames } from '../topics/service-topics.ts';
import { createDeliverer, type Deliverer } from './deliverer.ts';
import { egressOptions } from './egress-connector.ts';
import { DeliveryBudget } from './delivery-budget.ts';
import { Dispatcher } from './dispatcher.ts';
import { EndpointLimiter } from './endpoint-limiter.ts';
import { EndpointThrottle } from './endpoint-throttle.ts';
import type { BackoffObserver } from './with-backoff.ts';

/**
 * The dispatcher and the parts only it uses, configured; the caller closes `deliverer` and stops
 * `keyQueueSweep` on the way down.
 */
export function buildDispatcher(
  config: Readonly<Config>,
  parts: {
    database: DatabaseHandle;
    endpoints: { current(): EndpointIndex };
    catalog: { current(): EventCatalog };
    logWriter: DeliveryLogWriter;
    producer: TopicProducer;
    topics: TopicNames;
    metrics: Metrics;
    logger: Logger;
    userAgent: string;
    backoffObserver: BackoffObserver;
  },
): { dispatcher: Dispatcher; deliverer: Deliverer; keyOrder: KeyOrder; keyQueueSweep: PeriodicJob; decodeEvent: EventDecoder } {
  const { database, producer, topics, metrics, logger } = parts;
  const deliverer = createDeliverer({
    timeoutMs: config.delivery.timeoutMs,
    responseReadBytes: config.delivery.responseReadBytes,
    responseStoreBytes: config.delivery.responseStoreBytes,
    userAgent: parts.userAgent,
    // No cap per origin: EndpointLimiter bounds each endpoint, whatever host it shares.
    connectionsPerOrigin: null,
    ...egressOptions(config.delivery),
    onRefused: (reason) => metrics.egressRefused.inc({ reason }),
  });
  const { url, username, password, timeoutMs } = config.schemaRegistry;
  const registry = url
    ? createRegistryDecoder({ url, ...(username ? { username } : {}), ...(password ? { password } : {}), timeoutMs })
    : null;
  const keyOrder = new KeyOrder({
    pool: database.pool,
    producer,
    firstRetryTopic: topics.retry[0]!,
    handOffLeaseMs: config.delivery.claimLeaseMs,
    metrics,
    logger: logger.child({ component: 'key-order' }),
    backoffObserver: parts.backoffObserver,
  });
  // Replays decode with the same decoder, so they see events exactly as the live path does.
  const decodeEvent = createEventDecoder({
    maxEventBytes: config.delivery.maxEventBytes,
    registry,
    catalog: () => parts.catalog.current(),
  });
  const dispatcher = new Dispatcher({
    endpointLookup: new BatchedLookup((ids) => findEndpointsById(database.db, ids)),
    endpoints: parts.endpoints,
    deliverer,
    logWriter: parts.logWriter,
    statusLookup: new DeliveryStatusLookup(database.pool),
    claims: new DeliveryClaims(database.pool, { leaseMs: config.delivery.claimLeaseMs }),
    producer,
    decodeEvent,
    topics,
    retries: new RetryScheduler({
      db: database.db,
      producer,
      topics,
      tiers: retryTiers(config.retry.delaysMs),
      format: config.retry.messageFormat,
      metrics,
      logger,
      backoffObserver: parts.backoffObserver,
    }),
    backoffObserver: parts.backoffObserver,
    limiter: new EndpointLimiter({ concurrency: config.delivery.endpointConcurrency, stallMs: config.delivery.endpointStallMs }),
    budget: new DeliveryBudget(config.delivery.maxInFlightDeliveries),
    order: keyOrder,
    throttle: new EndpointThrottle({ maxPauseMs: config.delivery.retryAfterMaxMs, recoveryMs: THROTTLE_RECOVERY_MS }),
    throttleWaitMs: config.delivery.throttleWaitMs,
    metrics,
    logger,
  });
  return { dispatcher, deliverer, keyOrder, keyQueueSweep: keyOrder.startSweep(KEY_QUEUE_SWEEP_MS), decodeEvent };
}
