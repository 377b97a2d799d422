import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import pkg from '../../package.json' with { type: 'json' };
import { EVENT_TYPES } from '../events/catalog.ts';
import { CounterCells, LabelTree } from './counter-cells.ts';
import { ATTEMPT_RESULTS, CONSUMER_NAMES, DELIVERY_OUTCOMES, type AttemptResult, type DeliveryOutcome } from './metric-labels.ts';

export {
  ATTEMPT_RESULTS,
  CONSUMER_NAMES,
  DELIVERY_OUTCOMES,
  resultClass,
  type AttemptResult,
  type ConsumerName,
  type DeliveryOutcome,
} from './metric-labels.ts';

/**
 * The service's Prometheus metrics, in a registry of their own (tests make several). Names carry
 * the `webhooks_` prefix and base units; every label is bounded: never a URL, an id or free text.
 * The `endpoint` label (endpoint name) exists on deliveries, attempts and attempt duration only
 * when `perEndpoint` is on, because it multiplies those series by the number of endpoints.
 */

/** 1 ms … 10 s: one HTTP attempt, bounded by the 10 s delivery timeout. */
const ATTEMPT_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** 5 ms … 10 min: event time to success; retried deliveries succeed after 5 s, 35 s, 155 s and more. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 60, 120, 180, 300, 600];
/** 1 ms … 30 s: how late a retry fired; the design promises about a second at most. */
const LATENESS_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30];
/** 1 ms … 10 s: one batched write of the delivery log. */
const FLUSH_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

type DeliveryLabel = 'outcome' | 'event_type' | 'endpoint';
type AttemptLabel = 'result' | 'event_type' | 'endpoint';
type DurationLabel = 'result' | 'endpoint';

export interface MetricsOptions {
  /** Add the `endpoint` label (endpoint name) to deliveries, attempts and attempt duration. */
  perEndpoint: boolean;
  /** The `version` label of `webhooks_build_info`. Default: package.json's version. */
  version?: string;
  /**
   * Event types whose delivery and attempt series are exported at 0 from the start (without
   * perEndpoint), so `increase()` sees the first dead letter after a restart. Default: the catalog.
   */
  eventTypes?: readonly string[];
}

export interface Metrics {
  readonly registry: Registry;
  readonly perEndpoint: boolean;

  /** webhooks_events_consumed_total{topic,event_type}: valid events read from an input topic. */
  readonly eventsConsumed: Counter<'topic' | 'event_type'>;
  /** webhooks_events_invalid_total{topic,reason}: events sent to the invalid topic. */
  readonly eventsInvalid: Counter<'topic' | 'reason'>;
  /** webhooks_deliveries_total{outcome,event_type[,endpoint]}. */
  readonly deliveries: Counter<DeliveryLabel>;
  /** webhooks_attempts_total{result,event_type[,endpoint]}. */
  readonly attempts: Counter<AttemptLabel>;
  /** webhooks_attempt_duration_seconds{result[,endpoint]}. */
  readonly attemptDuration: Histogram<DurationLabel>;
  /** webhooks_delivery_latency_seconds{event_type}: event timestamp to successful delivery. */
  readonly deliveryLatency: Histogram<'event_type'>;
  /** webhooks_retries_scheduled_total{tier}: tier is the delay label, e.g. `5s`. */
  readonly retriesScheduled: Counter<'tier'>;
  /** webhooks_retry_lateness_seconds{tier}: when a retry attempt started minus its due time. */
  readonly retryLateness: Histogram<'tier'>;
  /** webhooks_deliveries_in_flight: HTTP attempts under way. */
  readonly deliveriesInFlight: Gauge;
  /** webhooks_consumer_lag_messages{group,topic}: summed over partitions (see lag-poller.ts). */
  readonly consumerLag: Gauge<'group' | 'topic'>;
  /** webhooks_delivery_log_queue_rows: rows recorded but not yet written. */
  readonly deliveryLogQueueRows: Gauge;
  /** webhooks_delivery_log_flush_seconds: duration of one batched write. */
  readonly deliveryLogFlush: Histogram;
  /** webhooks_delivery_log_rows_written_total. */
  readonly deliveryLogRowsWritten: Counter;
  /** webhooks_delivery_log_flush_errors_total. */
  readonly deliveryLogFlushErrors: Counter;
  /** webhooks_endpoints_enabled: enabled endpoints in the in-memory index. */
  readonly endpointsEnabled: Gauge;
  /** webhooks_endpoint_reloads_total{reason}: reason is start, notify, interval or reconnect. */
  readonly endpointReloads: Counter<'reason'>;
  /**
   * webhooks_egress_refused_total{reason}: attempts refused before sending, `blocked` (the egress
   * guard denied the address) or `insecure_url` (plain http while REQUIRE_HTTPS is on).
   */
  readonly egressRefused: Counter<'reason'>;
  /** webhooks_consumer_up{consumer}: 1 while the input or retry consumer runs. */
  readonly consumerUp: Gauge<'consumer'>;
  /** webhooks_build_info{version}: always 1. */
  readonly buildInfo: Gauge<'version'>;

  /**
   * Hot path: one valid event read. `eventType` must come from the event catalog (an unknown type
   * is an invalid event), so the label stays bounded.
   */
  eventConsumed(topic: string, eventType: string): void;
  /** Hot path: one HTTP attempt finished. `endpoint` is the endpoint's name; ignored unless perEndpoint. */
  attemptFinished(result: AttemptResult, eventType: string, endpoint: string, durationSeconds: number): void;
  /**
   * Hot path: a delivery reached `outcome`. Pass `latencySeconds` (event timestamp to now) with
   * `succeeded` to feed the end-to-end latency histogram.
   */
  deliveryReached(outcome: DeliveryOutcome, eventType: string, endpoint: string, latencySeconds?: number): void;
  /** The label set for deliveries/attempts: `endpoint` only when perEndpoint is on. */
  labelsFor<T extends Record<string, string>>(labels: T, endpoint: string): T & { endpoint?: string };
}

export function createMetrics(options: MetricsOptions): Metrics {
  const { perEndpoint } = options;
  const registry = new Registry();
  const registers = [registry];
  collectDefaultMetrics({ register: registry });

  const withEndpoint = <T extends string>(names: T[]): T[] => (perEndpoint ? [...names, 'endpoint' as T] : names);

  const labelsFor = <T extends Record<string, string>>(labels: T, endpoint: string): T & { endpoint?: string } =>
    perEndpoint ? { ...labels, endpoint } : labels;

  const consumedCells = new CounterCells<'topic' | 'event_type'>((topic, eventType) => ({ topic, event_type: eventType }));
  const deliveryCells = new CounterCells<DeliveryLabel>((outcome, eventType, endpoint) =>
    labelsFor({ outcome, event_type: eventType }, endpoint),
  );
  const attemptCells = new CounterCells<AttemptLabel>((result, eventType, endpoint) =>
    labelsFor({ result, event_type: eventType }, endpoint),
  );

  const eventsConsumed = new Counter({
    name: 'webhooks_events_consumed_total',
    help: 'Valid events read from the input topics, by topic and event type (invalid ones: webhooks_events_invalid_total).',
    labelNames: ['topic', 'event_type'] as const,
    registers,
    collect: () => consumedCells.flush(),
  });
  const eventsInvalid = new Counter({
    name: 'webhooks_events_invalid_total',
    help: 'Input events that could not be decoded or validated and went to the invalid topic, by reason.',
    labelNames: ['topic', 'reason'] as const,
    registers,
  });
  const deliveries = new Counter<DeliveryLabel>({
    name: 'webhooks_deliveries_total',
    help: 'Deliveries that reached an outcome: succeeded, retried (handed to a retry topic), dead (dead-letter topic) or cancelled.',
    labelNames: withEndpoint<DeliveryLabel>(['outcome', 'event_type']),
    registers,
    collect: () => deliveryCells.flush(),
  });
  const attempts = new Counter<AttemptLabel>({
    name: 'webhooks_attempts_total',
    help: 'HTTP delivery attempts by result class (2xx, 3xx, 4xx, 5xx, timeout, network, aborted).',
    labelNames: withEndpoint<AttemptLabel>(['result', 'event_type']),
    registers,
    collect: () => attemptCells.flush(),
  });
  consumedCells.attach(eventsConsumed);
  deliveryCells.attach(deliveries);
  attemptCells.attach(attempts);

  const attemptDuration = new Histogram<DurationLabel>({
    name: 'webhooks_attempt_duration_seconds',
    help: 'Duration of one HTTP delivery attempt, from connect to the last byte read.',
    labelNames: withEndpoint<DurationLabel>(['result']),
    buckets: ATTEMPT_BUCKETS,
    registers,
  });
  const deliveryLatency = new Histogram({
    name: 'webhooks_delivery_latency_seconds',
    help: 'Time from the event timestamp to the successful delivery, retries included.',
    labelNames: ['event_type'] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const retriesScheduled = new Counter({
    name: 'webhooks_retries_scheduled_total',
    help: 'Failed deliveries handed to a retry topic, by delay tier (5s, 30s, 120s).',
    labelNames: ['tier'] as const,
    registers,
  });
  const retryLateness = new Histogram({
    name: 'webhooks_retry_lateness_seconds',
    help: 'How long after its due time a retry attempt started, by delay tier.',
    labelNames: ['tier'] as const,
    buckets: LATENESS_BUCKETS,
    registers,
  });
  const deliveriesInFlight = new Gauge({
    name: 'webhooks_deliveries_in_flight',
    help: 'HTTP delivery attempts under way.',
    registers,
  });
  const consumerLag = new Gauge({
    name: 'webhooks_consumer_lag_messages',
    help: 'Messages not yet committed by a consumer group on a topic (high watermark minus committed offset, summed over partitions).',
    labelNames: ['group', 'topic'] as const,
    registers,
  });
  const deliveryLogQueueRows = new Gauge({
    name: 'webhooks_delivery_log_queue_rows',
    help: 'Delivery log rows recorded but not yet written to Postgres.',
    registers,
  });
  const deliveryLogFlush = new Histogram({
    name: 'webhooks_delivery_log_flush_seconds',
    help: 'Duration of one batched write of the delivery log.',
    buckets: FLUSH_BUCKETS,
    registers,
  });
  const deliveryLogRowsWritten = new Counter({
    name: 'webhooks_delivery_log_rows_written_total',
    help: 'Delivery log rows (deliveries and attempts) written to Postgres.',
    registers,
  });
  const deliveryLogFlushErrors = new Counter({
    name: 'webhooks_delivery_log_flush_errors_total',
    help: 'Batched writes of the delivery log that failed (they are retried).',
    registers,
  });
  const endpointsEnabled = new Gauge({
    name: 'webhooks_endpoints_enabled',
    help: 'Enabled webhook endpoints in the in-memory index.',
    registers,
  });
  const endpointReloads = new Counter({
    name: 'webhooks_endpoint_reloads_total',
    help: 'Reloads of the endpoint index from Postgres, by reason (start, notify, interval, reconnect).',
    labelNames: ['reason'] as const,
    registers,
  });
  const egressRefused = new Counter({
    name: 'webhooks_egress_refused_total',
    help: 'Attempts refused before sending: blocked (the egress guard denied the address) or insecure_url (http while REQUIRE_HTTPS is on).',
    labelNames: ['reason'] as const,
    registers,
  });
  const consumerUp = new Gauge({
    name: 'webhooks_consumer_up',
    help: '1 while the consumer (input or retry) is running, else 0.',
    labelNames: ['consumer'] as const,
    registers,
  });
  const buildInfo = new Gauge({
    name: 'webhooks_build_info',
    help: 'Always 1; the version label says what is running.',
    labelNames: ['version'] as const,
    registers,
  });

  buildInfo.set({ version: options.version ?? pkg.version }, 1);
  for (const consumer of CONSUMER_NAMES) consumerUp.set({ consumer }, 0);
  for (const reason of ['blocked', 'insecure_url']) egressRefused.inc({ reason }, 0);
  deliveriesInFlight.set(0);
  deliveryLogQueueRows.set(0);
  if (!perEndpoint) {
    for (const eventType of options.eventTypes ?? EVENT_TYPES) {
      for (const outcome of DELIVERY_OUTCOMES) deliveryCells.touch(outcome, eventType, '');
      for (const result of ATTEMPT_RESULTS) attemptCells.touch(result, eventType, '');
    }
  }

  // prom-client children skip the label lookup per observation (histograms are not batched).
  const durationChildren = new LabelTree((result, endpoint) => attemptDuration.labels(labelsFor({ result }, endpoint)));
  const latencyChildren = new LabelTree((eventType) => deliveryLatency.labels({ event_type: eventType }));

  return {
    registry,
    perEndpoint,
    eventsConsumed,
    eventsInvalid,
    deliveries,
    attempts,
    attemptDuration,
    deliveryLatency,
    retriesScheduled,
    retryLateness,
    deliveriesInFlight,
    consumerLag,
    deliveryLogQueueRows,
    deliveryLogFlush,
    deliveryLogRowsWritten,
    deliveryLogFlushErrors,
    endpointsEnabled,
    endpointReloads,
    egressRefused,
    consumerUp,
    buildInfo,
    labelsFor,

    eventConsumed(topic, eventType) {
      consumedCells.add(topic, eventType, '');
    },

    attemptFinished(result, eventType, endpoint, durationSeconds) {
      const ep = perEndpoint ? endpoint : '';
      attemptCells.add(result, eventType, ep);
      durationChildren.get(result, ep, '').observe(durationSeconds);
    },

    deliveryReached(outcome, eventType, endpoint, latencySeconds) {
      const ep = perEndpoint ? endpoint : '';
      deliveryCells.add(outcome, eventType, ep);
      if (latencySeconds !== undefined && outcome === 'succeeded') {
        latencyChildren.get(eventType, '', '').observe(Math.max(0, latencySeconds));
      }
    },
  };
}
