import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry, type MetricConfiguration } from 'prom-client';
import { UsageError } from '../errors.ts';
import pkg from '../../package.json' with { type: 'json' };
import { CounterCells, HistogramCells } from './counter-cells.ts';
import DEFINITIONS from './metric-definitions.json' with { type: 'json' };
import {
  ATTEMPT_RESULTS,
  CONSUMER_NAMES,
  DELIVERY_OUTCOMES,
  REPLAY_END_STATUSES,
  REPLAY_EVENT_OUTCOMES,
  SPEC_EVENT_TYPES,
} from './metric-labels.ts';
import type { AttemptLabel, DeliveryLabel, Metrics, MetricsOptions } from './metrics.ts';

/** Histogram buckets, by the name a definition gives in `buckets`. */
const BUCKETS: Readonly<Record<string, number[]>> = {
  /** 1 ms … 10 s: one HTTP attempt, bounded by the 10 s delivery timeout. */
  attempt: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  /** 5 ms … 10 min: event time to success; retried deliveries succeed after 5 s, 35 s, 155 s and more. */
  latency: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 60, 120, 180, 300, 600],
  /** 1 ms … 30 s: how late a retry fired; the design promises about a second at most. */
  lateness: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
  /** 1 ms … 10 s: one batched write of the delivery log. */
  flush: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
};

/**
 * One row of metric-definitions.json: a prom-client instrument. `perEndpoint` rows get the
 * `endpoint` label when MetricsOptions.perEndpoint is on; `buckets` names a BUCKETS entry.
 */
interface MetricDefinition {
  type: string;
  name: string;
  help: string;
  labelNames?: string[];
  perEndpoint?: boolean;
  buckets?: string;
}

/** The instruments the table defines, typed as Metrics exposes them (eventsFiltered stays inside). */
type Instruments = Pick<Metrics, Exclude<keyof typeof DEFINITIONS, 'eventsFiltered'>> & {
  eventsFiltered: Counter<'event_type' | 'endpoint'>;
};

function bucketsOf(definition: MetricDefinition): number[] {
  const buckets = BUCKETS[definition.buckets ?? ''];
  if (!buckets) throw new UsageError(`metric ${definition.name}: no buckets named ${JSON.stringify(definition.buckets)}`);
  return buckets;
}

function createInstrument(definition: MetricDefinition, config: MetricConfiguration<string>): Counter | Gauge | Histogram {
  switch (definition.type) {
    case 'counter':
      return new Counter(config);
    case 'gauge':
      return new Gauge(config);
    case 'histogram':
      return new Histogram({ ...config, buckets: bucketsOf(definition) });
    default:
      throw new UsageError(`metric ${definition.name}: unknown type ${JSON.stringify(definition.type)}`);
  }
}

export function createMetrics(options: MetricsOptions): Metrics {
  const { perEndpoint } = options;
  const registry = new Registry();
  const registers = [registry];
  collectDefaultMetrics({ register: registry });

  const labelsFor = <T extends Record<string, string>>(labels: T, endpoint: string): T & { endpoint?: string } =>
    perEndpoint ? { ...labels, endpoint } : labels;

  const consumedCells = new CounterCells<'topic' | 'event_type'>((topic, eventType) => ({ topic, event_type: eventType }));
  const deliveryCells = new CounterCells<DeliveryLabel>((outcome, eventType, endpoint) =>
    labelsFor({ outcome, event_type: eventType }, endpoint),
  );
  const attemptCells = new CounterCells<AttemptLabel>((result, eventType, endpoint) =>
    labelsFor({ result, event_type: eventType }, endpoint),
  );
  // The batched counters and histograms hand their cells to prom-client when it is scraped.
  let durationCells: HistogramCells | null = null;
  let latencyCells: HistogramCells | null = null;
  const collectors: Readonly<Record<string, () => void>> = {
    eventsConsumed: () => consumedCells.flush(),
    deliveries: () => deliveryCells.flush(),
    attempts: () => attemptCells.flush(),
    attemptDuration: () => durationCells?.flush(),
    deliveryLatency: () => latencyCells?.flush(),
  };

  const created: Record<string, Counter | Gauge | Histogram> = {};
  for (const [key, definition] of Object.entries(DEFINITIONS as Record<string, MetricDefinition>)) {
    const labelNames = [...(definition.labelNames ?? []), ...(definition.perEndpoint && perEndpoint ? ['endpoint'] : [])];
    const collect = collectors[key];
    created[key] = createInstrument(definition, {
      name: definition.name,
      help: definition.help,
      labelNames,
      registers,
      ...(collect ? { collect } : {}),
    });
  }
  const { eventsFiltered, ...instruments } = created as unknown as Instruments;
  const { eventsConsumed, deliveries, attempts, attemptDuration, deliveryLatency } = instruments;
  const { buildInfo, consumerUp, egressRefused, deliveriesInFlight, deliveryLogQueueRows, dependencyWaits, parkedDeliveries } = instruments;
  consumedCells.attach(eventsConsumed);
  deliveryCells.attach(deliveries);
  attemptCells.attach(attempts);

  buildInfo.set({ version: options.version ?? pkg.version }, 1);
  for (const consumer of CONSUMER_NAMES) consumerUp.set({ consumer }, 0);
  for (const reason of ['blocked', 'insecure_url']) egressRefused.inc({ reason }, 0);
  deliveriesInFlight.set(0);
  deliveryLogQueueRows.set(0);
  dependencyWaits.set(0);
  parkedDeliveries.set(0);
  instruments.endpointsFailing.set(0);
  for (const alert of ['webhook_endpoint_failing', 'webhook_endpoint_disabled']) instruments.alertsProduced.inc({ alert }, 0);
  for (const outcome of REPLAY_EVENT_OUTCOMES) instruments.replayEvents.inc({ outcome }, 0);
  for (const status of REPLAY_END_STATUSES) instruments.replaysFinished.inc({ status }, 0);
  if (!perEndpoint) {
    for (const eventType of options.eventTypes ?? SPEC_EVENT_TYPES) {
      for (const outcome of DELIVERY_OUTCOMES) deliveryCells.touch(outcome, eventType, '');
      for (const result of ATTEMPT_RESULTS) attemptCells.touch(result, eventType, '');
    }
  }

  durationCells = new HistogramCells(attemptDuration, bucketsOf(DEFINITIONS.attemptDuration), (result, endpoint) =>
    labelsFor({ result }, endpoint),
  );
  latencyCells = new HistogramCells(deliveryLatency, bucketsOf(DEFINITIONS.deliveryLatency), (eventType) => ({ event_type: eventType }));
  const durations = durationCells;
  const latencies = latencyCells;

  return {
    registry,
    perEndpoint,
    ...instruments,
    labelsFor,

    deliveryThrottled(endpoint, action) {
      instruments.deliveriesThrottled.inc({ endpoint, action });
    },
    eventFiltered(eventType, endpoint) {
      eventsFiltered.inc(labelsFor({ event_type: eventType }, endpoint));
    },
    eventConsumed(topic, eventType) {
      consumedCells.add(topic, eventType, '');
    },

    attemptFinished(result, eventType, endpoint, durationSeconds) {
      const ep = perEndpoint ? endpoint : '';
      attemptCells.add(result, eventType, ep);
      durations.observe(result, ep, '', durationSeconds);
    },

    deliveryReached(outcome, eventType, endpoint, latencySeconds) {
      const ep = perEndpoint ? endpoint : '';
      deliveryCells.add(outcome, eventType, ep);
      if (latencySeconds !== undefined && outcome === 'succeeded') {
        latencies.observe(eventType, '', '', Math.max(0, latencySeconds));
      }
    },
  };
}
