import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import pkg from '../../package.json' with { type: 'json' };
import { CounterCells, LabelTree } from './counter-cells.ts';
import { ATTEMPT_RESULTS, CONSUMER_NAMES, DELIVERY_OUTCOMES, SPEC_EVENT_TYPES } from './metric-labels.ts';
import type { AttemptLabel, DeliveryLabel, DurationLabel, Metrics, MetricsOptions } from './metrics.ts';

/** 1 ms … 10 s: one HTTP attempt, bounded by the 10 s delivery timeout. */
const ATTEMPT_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** 5 ms … 10 min: event time to success; retried deliveries succeed after 5 s, 35 s, 155 s and more. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 60, 120, 180, 300, 600];
/** 1 ms … 30 s: how late a retry fired; the design promises about a second at most. */
const LATENESS_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30];
/** 1 ms … 10 s: one batched write of the delivery log. */
const FLUSH_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

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
  const eventsFiltered = new Counter<'event_type' | 'endpoint'>({
    name: 'webhooks_events_filtered_total',
    help: 'Events not delivered to a subscribed endpoint because its payload filter excluded them.',
    labelNames: withEndpoint<'event_type' | 'endpoint'>(['event_type']),
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
  const handlerFailures = new Counter({
    name: 'webhooks_handler_failures_total',
    help: 'Failures of a message handler, by consumer and kind: transient (retried while a dependency is down), permanent or unknown (quarantined to the invalid topic, unknown after a few tries).',
    labelNames: ['consumer', 'kind'] as const,
    registers,
  });
  const dependencyRetries = new Counter({
    name: 'webhooks_dependency_retries_total',
    help: 'Calls to Postgres, the broker or the schema registry that failed and are retried, by operation.',
    labelNames: ['operation'] as const,
    registers,
  });
  const dependencyWaits = new Gauge({
    name: 'webhooks_dependency_waits',
    help: 'Operations now waiting for Postgres, the broker or the schema registry to come back.',
    registers,
  });
  const deliveriesParked = new Counter({
    name: 'webhooks_deliveries_parked_total',
    help: 'Deliveries to per_key endpoints parked behind an earlier delivery of the same key.',
    registers,
  });
  const deliveriesReleased = new Counter({
    name: 'webhooks_deliveries_released_total',
    help: 'Parked deliveries released after the delivery ahead of them settled.',
    registers,
  });
  const parkedDeliveries = new Gauge({
    name: 'webhooks_parked_deliveries',
    help: 'Deliveries parked now behind an earlier delivery of their key (updated by the key-queue sweep).',
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
  dependencyWaits.set(0);
  parkedDeliveries.set(0);
  if (!perEndpoint) {
    for (const eventType of options.eventTypes ?? SPEC_EVENT_TYPES) {
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
    handlerFailures,
    dependencyRetries,
    dependencyWaits,
    deliveriesParked,
    deliveriesReleased,
    parkedDeliveries,
    labelsFor,

    eventFiltered(eventType, endpoint) {
      eventsFiltered.inc(labelsFor({ event_type: eventType }, endpoint));
    },
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
