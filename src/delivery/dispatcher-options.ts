import type { Logger } from 'pino';
import type { EndpointIndex } from '../endpoints/endpoint-index.ts';
import type { EndpointRecord } from '../endpoints/endpoint-store.ts';
import type { EventDecoder } from '../events/event-decoder.ts';
import type { TopicProducer } from '../kafka/topic-producer.ts';
import type { DeliveryLogWriter, DeliveryRecord } from '../log/delivery-log-writer.ts';
import type { DeliveryStatusLookup } from '../log/delivery-status-lookup.ts';
import type { DeliveryClaims } from '../log/delivery-claims.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { RetryScheduler } from '../retry/retry-scheduler.ts';
import type { KeyOrder } from '../ordering/key-order.ts';
import type { TopicNames } from '../topics/service-topics.ts';
import type { BatchedLookup } from '../util/batched-lookup.ts';
import type { AttemptResult, Deliverer } from './deliverer.ts';
import type { DeliveryBudget } from './delivery-budget.ts';
import type { EndpointLimiter } from './endpoint-limiter.ts';
import type { EndpointThrottle } from './endpoint-throttle.ts';
import type { BackoffObserver } from './with-backoff.ts';

/** What the Dispatcher (dispatcher.ts) is built from. */
export interface DispatcherOptions {
  /** The endpoints of retried deliveries, read from Postgres (not the cache), so a disabled one is never retried. */
  endpointLookup: BatchedLookup<EndpointRecord>;
  endpoints: { current(): EndpointIndex };
  deliverer: Deliverer;
  logWriter: DeliveryLogWriter;
  statusLookup: DeliveryStatusLookup;
  claims: DeliveryClaims;
  producer: TopicProducer;
  decodeEvent: EventDecoder;
  topics: TopicNames;
  retries: RetryScheduler;
  limiter: EndpointLimiter;
  throttle: EndpointThrottle;
  /** Longest in-memory wait for a rate limit's token; a longer one parks the attempt (THROTTLE_WAIT_MS). */
  throttleWaitMs: number;
  /** Bounds deliveries in flight over all input partitions (MAX_IN_FLIGHT_DELIVERIES); default: unbounded. */
  budget?: DeliveryBudget;
  /** Per-key ordering for `per_key` endpoints; without it they are delivered like any other. */
  order?: KeyOrder;
  /** Sees the waits on a dependency (metrics, readiness). */
  backoffObserver?: BackoffObserver;
  metrics: Metrics;
  logger: Logger;
  now?: () => number;
}

/** What tests and tooling can observe; metrics are fed directly. */
export interface DispatcherEvents {
  attempt: [{ deliveryId: string; endpointId: string; series: number; attempt: number; result: AttemptResult }];
  settled: [{ deliveryId: string; endpointId: string; status: DeliveryRecord['status']; reason: string | null }];
  invalid: [{ topic: string; partition: number; offset: string; reason: string; message: string }];
  retryFired: [{ deliveryId: string; tier: string; lateMs: number }];
}
