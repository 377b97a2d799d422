import type { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AttemptResult, DeliveryOutcome } from './metric-labels.ts';

export { createMetrics } from './create-metrics.ts';
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

export type DeliveryLabel = 'outcome' | 'event_type' | 'endpoint';
export type AttemptLabel = 'result' | 'event_type' | 'endpoint';
export type DurationLabel = 'result' | 'endpoint';

export interface MetricsOptions {
  /** Add the `endpoint` label (endpoint name) to deliveries, attempts and attempt duration. */
  perEndpoint: boolean;
  /** The `version` label of `webhooks_build_info`. Default: package.json's version. */
  version?: string;
  /**
   * Event types whose delivery and attempt series are exported at 0 from the start (without
   * perEndpoint), so `increase()` sees the first dead letter after a restart. Default: the spec's nine.
   */
  eventTypes?: readonly string[];
}

/**
 * The instruments of metric-definitions.json by kind, each with its label names (`string`: none).
 * What each measures is its `help` there; the comments say what its labels hold.
 */
interface CounterLabels {
  /** webhooks_events_consumed_total{topic,event_type}: valid events read from an input topic. */
  eventsConsumed: 'topic' | 'event_type';
  /** webhooks_events_invalid_total{topic,reason}: events sent to the invalid topic. */
  eventsInvalid: 'topic' | 'reason';
  /** webhooks_deliveries_total{outcome,event_type[,endpoint]}. */
  deliveries: DeliveryLabel;
  /** webhooks_attempts_total{result,event_type[,endpoint]}. */
  attempts: AttemptLabel;
  /** webhooks_retries_scheduled_total{tier}: tier is the delay label, e.g. `5s`. */
  retriesScheduled: 'tier';
  /** webhooks_delivery_log_rows_written_total. */
  deliveryLogRowsWritten: string;
  /** webhooks_delivery_log_flush_errors_total. */
  deliveryLogFlushErrors: string;
  /** webhooks_endpoint_reloads_total{reason}: reason is start, notify, interval or reconnect. */
  endpointReloads: 'reason';
  /**
   * webhooks_egress_refused_total{reason}: attempts refused before sending, `blocked` (the egress
   * guard denied the address) or `insecure_url` (plain http while REQUIRE_HTTPS is on).
   */
  egressRefused: 'reason';
  /** webhooks_endpoints_auto_disabled_total: endpoints this dispatcher disabled because every attempt failed (AUTO_DISABLE_AFTER). */
  endpointsAutoDisabled: string;
  /** webhooks_alerts_produced_total{alert}: alert.triggered events produced (webhook_endpoint_failing, webhook_endpoint_disabled). */
  alertsProduced: 'alert';
  /** webhooks_handler_failures_total{consumer,kind}: a message's handler failed (kind: transient, permanent, unknown). */
  handlerFailures: 'consumer' | 'kind';
  /** webhooks_dependency_retries_total{operation}: a call to Postgres, the broker or the registry failed and is retried. */
  dependencyRetries: 'operation';
  /**
   * webhooks_deliveries_throttled_total{endpoint,action}: attempts held back by their endpoint's
   * rate limit or Retry-After. Always by endpoint: only limited or throttling endpoints have series.
   */
  deliveriesThrottled: 'endpoint' | 'action';
  /** webhooks_deliveries_parked_total: deliveries to per_key endpoints that waited behind an earlier one of their key. */
  deliveriesParked: string;
  /** webhooks_deliveries_released_total: parked deliveries released (handed to the first delay topic) after their head settled. */
  deliveriesReleased: string;
  /** webhooks_replay_events_scanned_total: messages read by replays (webhooks.replay()) this dispatcher ran. */
  replayEventsScanned: string;
  /** webhooks_replay_events_total{outcome}: queued, skipped_succeeded, in_flight, filtered or invalid (REPLAY_EVENT_OUTCOMES). */
  replayEvents: 'outcome';
  /** webhooks_replays_total{status}: replays that ended in this dispatcher, done, failed or cancelled. */
  replaysFinished: 'status';
}

interface GaugeLabels {
  /** webhooks_deliveries_in_flight: HTTP attempts under way. */
  deliveriesInFlight: string;
  /** webhooks_consumer_lag_messages{group,topic}: summed over partitions (see lag-poller.ts). */
  consumerLag: 'group' | 'topic';
  /** webhooks_delivery_log_queue_rows: rows recorded but not yet written. */
  deliveryLogQueueRows: string;
  /** webhooks_endpoints_enabled: enabled endpoints in the in-memory index. */
  endpointsEnabled: string;
  /** webhooks_endpoints_failing: enabled endpoints whose every attempt has failed since their last success (as of the last sweep). */
  endpointsFailing: string;
  /** webhooks_consumer_up{consumer}: 1 while the input or retry consumer runs. */
  consumerUp: 'consumer';
  /** webhooks_build_info{version}: always 1. */
  buildInfo: 'version';
  /** webhooks_dependency_waits: operations now waiting for a dependency to come back. */
  dependencyWaits: string;
  /** webhooks_parked_deliveries: deliveries parked now, in every key queue (counted by the periodic sweep). */
  parkedDeliveries: string;
  /** webhooks_replays_running: replays this dispatcher runs now (0 or 1). */
  replaysRunning: string;
}

interface HistogramLabels {
  /** webhooks_attempt_duration_seconds{result[,endpoint]}. */
  attemptDuration: DurationLabel;
  /** webhooks_delivery_latency_seconds{event_type}: event timestamp to successful delivery. */
  deliveryLatency: 'event_type';
  /** webhooks_retry_lateness_seconds{tier}: when a retry attempt started minus its due time. */
  retryLateness: 'tier';
  /** webhooks_delivery_log_flush_seconds: duration of one batched write. */
  deliveryLogFlush: string;
}

type Counters = { readonly [K in keyof CounterLabels]: Counter<CounterLabels[K]> };
type Gauges = { readonly [K in keyof GaugeLabels]: Gauge<GaugeLabels[K]> };
type Histograms = { readonly [K in keyof HistogramLabels]: Histogram<HistogramLabels[K]> };

export interface Metrics extends Counters, Gauges, Histograms {
  readonly registry: Registry;
  readonly perEndpoint: boolean;

  /**
   * Hot path: one valid event read. `eventType` must come from the event catalog (an unknown type
   * is an invalid event), so the label stays bounded.
   */
  eventConsumed(topic: string, eventType: string): void;
  /** An attempt was held back by its endpoint's limit: `waited` in memory, or `parked` on a delay topic. */
  deliveryThrottled(endpoint: string, action: 'waited' | 'parked'): void;
  /** webhooks_events_filtered_total{event_type[,endpoint]}: a subscribed endpoint's payload filter excluded an event. */
  eventFiltered(eventType: string, endpoint: string): void;
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
