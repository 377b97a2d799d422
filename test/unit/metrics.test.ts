import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ATTEMPT_RESULTS, createMetrics, resultClass } from '../../src/metrics/metrics.ts';

/** name → { type, labelNames seen in the exposition }, from prom-client's JSON view. */
async function families(metrics: ReturnType<typeof createMetrics>) {
  const json = await metrics.registry.getMetricsAsJSON();
  return new Map(json.map((m) => [m.name, m]));
}

async function sample(metrics: ReturnType<typeof createMetrics>, name: string, labels: Record<string, string>) {
  const metric = metrics.registry.getSingleMetric(name);
  assert.ok(metric, `${name} is registered`);
  const data = await metric.get();
  const wanted = JSON.stringify(Object.entries(labels).sort());
  const hit = data.values.find((v) => JSON.stringify(Object.entries(v.labels).sort()) === wanted);
  return hit?.value;
}

const EXPECTED: Array<[name: string, type: string, labels: string[]]> = [
  ['webhooks_events_consumed_total', 'counter', ['topic', 'event_type']],
  ['webhooks_events_invalid_total', 'counter', ['topic', 'reason']],
  ['webhooks_events_filtered_total', 'counter', ['event_type']],
  ['webhooks_deliveries_total', 'counter', ['outcome', 'event_type']],
  ['webhooks_attempts_total', 'counter', ['result', 'event_type']],
  ['webhooks_attempt_duration_seconds', 'histogram', ['result']],
  ['webhooks_delivery_latency_seconds', 'histogram', ['event_type']],
  ['webhooks_retries_scheduled_total', 'counter', ['tier']],
  ['webhooks_retry_lateness_seconds', 'histogram', ['tier']],
  ['webhooks_deliveries_in_flight', 'gauge', []],
  ['webhooks_consumer_lag_messages', 'gauge', ['group', 'topic']],
  ['webhooks_delivery_log_queue_rows', 'gauge', []],
  ['webhooks_delivery_log_flush_seconds', 'histogram', []],
  ['webhooks_delivery_log_rows_written_total', 'counter', []],
  ['webhooks_delivery_log_flush_errors_total', 'counter', []],
  ['webhooks_endpoints_enabled', 'gauge', []],
  ['webhooks_endpoint_reloads_total', 'counter', ['reason']],
  ['webhooks_egress_refused_total', 'counter', ['reason']],
  ['webhooks_consumer_up', 'gauge', ['consumer']],
  ['webhooks_handler_failures_total', 'counter', ['consumer', 'kind']],
  ['webhooks_dependency_retries_total', 'counter', ['operation']],
  ['webhooks_dependency_waits', 'gauge', []],
  ['webhooks_deliveries_parked_total', 'counter', []],
  ['webhooks_deliveries_released_total', 'counter', []],
  ['webhooks_parked_deliveries', 'gauge', []],
  ['webhooks_endpoints_auto_disabled_total', 'counter', []],
  ['webhooks_endpoints_failing', 'gauge', []],
  ['webhooks_alerts_produced_total', 'counter', ['alert']],
  ['webhooks_deliveries_throttled_total', 'counter', ['endpoint', 'action']],
  ['webhooks_build_info', 'gauge', ['version']],
  ['webhooks_replay_events_scanned_total', 'counter', []],
  ['webhooks_replay_events_total', 'counter', ['outcome']],
  ['webhooks_replays_total', 'counter', ['status']],
  ['webhooks_replays_running', 'gauge', []],
];

describe('createMetrics', () => {
  it('registers every webhooks_ metric with its type and labels, and nothing else under the prefix', async () => {
    const metrics = createMetrics({ perEndpoint: false });
    const byName = await families(metrics);
    for (const [name, type, labels] of EXPECTED) {
      const family = metrics.registry.getSingleMetric(name) as unknown as { labelNames: string[] } | undefined;
      assert.ok(family, `${name} missing`);
      assert.equal(byName.get(name)?.type, type, `${name} type`);
      assert.deepEqual([...family.labelNames].sort(), [...labels].sort(), `${name} labels`);
    }
    const ours = [...byName.keys()].filter((n) => n.startsWith('webhooks_')).sort();
    assert.deepEqual(ours, EXPECTED.map(([n]) => n).sort());
  });

  it('collects the default process and event loop metrics into its own registry', async () => {
    const metrics = createMetrics({ perEndpoint: false });
    const text = await metrics.registry.metrics();
    for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_p99_seconds']) {
      assert.match(text, new RegExp(`^${name} `, 'm'), name);
    }
  });

  it('gives each instance its own registry', async () => {
    const a = createMetrics({ perEndpoint: false });
    const b = createMetrics({ perEndpoint: false });
    a.eventsInvalid.inc({ topic: 't', reason: 'invalid_json' });
    assert.equal(await sample(a, 'webhooks_events_invalid_total', { topic: 't', reason: 'invalid_json' }), 1);
    assert.equal(await sample(b, 'webhooks_events_invalid_total', { topic: 't', reason: 'invalid_json' }), undefined);
  });

  it('sets build_info to 1 with the version and starts both consumers as down', async () => {
    const metrics = createMetrics({ perEndpoint: false, version: '1.2.3' });
    assert.equal(await sample(metrics, 'webhooks_build_info', { version: '1.2.3' }), 1);
    assert.equal(await sample(metrics, 'webhooks_consumer_up', { consumer: 'input' }), 0);
    assert.equal(await sample(metrics, 'webhooks_consumer_up', { consumer: 'retry' }), 0);
  });

  it('adds the endpoint label to deliveries, attempts and attempt duration only when perEndpoint is on', async () => {
    const off = createMetrics({ perEndpoint: false });
    const on = createMetrics({ perEndpoint: true });
    for (const name of ['webhooks_deliveries_total', 'webhooks_attempts_total', 'webhooks_attempt_duration_seconds']) {
      const labelsOff = (off.registry.getSingleMetric(name) as unknown as { labelNames: string[] }).labelNames;
      const labelsOn = (on.registry.getSingleMetric(name) as unknown as { labelNames: string[] }).labelNames;
      assert.ok(!labelsOff.includes('endpoint'), `${name} without perEndpoint`);
      assert.ok(labelsOn.includes('endpoint'), `${name} with perEndpoint`);
    }
    for (const m of [off, on]) {
      m.attemptFinished('5xx', 'call.ended', 'crm-sync', 0.2);
      m.deliveryReached('retried', 'call.ended', 'crm-sync');
    }
    const offText = await off.registry.metrics();
    const onText = await on.registry.metrics();
    assert.doesNotMatch(offText, /crm-sync/);
    assert.match(onText, /webhooks_attempts_total\{result="5xx",event_type="call.ended",endpoint="crm-sync"\} 1/);
    assert.match(onText, /webhooks_deliveries_total\{outcome="retried",event_type="call.ended",endpoint="crm-sync"\} 1/);
    assert.match(onText, /webhooks_attempt_duration_seconds_count\{result="5xx",endpoint="crm-sync"\} 1/);
    assert.deepEqual(off.labelsFor({ outcome: 'dead' }, 'crm-sync'), { outcome: 'dead' });
    assert.deepEqual(on.labelsFor({ outcome: 'dead' }, 'crm-sync'), { outcome: 'dead', endpoint: 'crm-sync' });
  });

  it('exports delivery and attempt series at 0 for every catalog event type, without perEndpoint', async () => {
    const metrics = createMetrics({ perEndpoint: false });
    assert.equal(await sample(metrics, 'webhooks_deliveries_total', { outcome: 'dead', event_type: 'alert.triggered' }), 0);
    assert.equal(await sample(metrics, 'webhooks_attempts_total', { result: 'timeout', event_type: 'call.started' }), 0);
    const custom = createMetrics({ perEndpoint: false, eventTypes: ['x.y'] });
    assert.equal(await sample(custom, 'webhooks_deliveries_total', { outcome: 'dead', event_type: 'x.y' }), 0);
    assert.equal(await sample(custom, 'webhooks_deliveries_total', { outcome: 'dead', event_type: 'call.ended' }), undefined);
    const perEndpoint = createMetrics({ perEndpoint: true });
    assert.equal((await perEndpoint.deliveries.get()).values.length, 0);
  });

  it('counts hot-path helper calls and direct inc() calls together', async () => {
    const metrics = createMetrics({ perEndpoint: false });
    for (let i = 0; i < 5; i++) metrics.eventConsumed('dialer.events', 'call.ended');
    metrics.eventsConsumed.inc({ topic: 'dialer.events', event_type: 'call.ended' });
    const labels = { topic: 'dialer.events', event_type: 'call.ended' };
    assert.equal(await sample(metrics, 'webhooks_events_consumed_total', labels), 6);
    metrics.eventConsumed('dialer.events', 'call.ended');
    // A second read adds only what happened since the first.
    assert.equal(await sample(metrics, 'webhooks_events_consumed_total', labels), 7);
    assert.equal(await sample(metrics, 'webhooks_events_consumed_total', labels), 7);
  });

  it('feeds the latency histogram only for succeeded deliveries', async () => {
    const metrics = createMetrics({ perEndpoint: false });
    metrics.deliveryReached('succeeded', 'call.ended', 'x', 1.5);
    metrics.deliveryReached('dead', 'call.ended', 'x', 200);
    metrics.deliveryReached('succeeded', 'agent.login', 'x');
    const text = await metrics.registry.metrics();
    assert.match(text, /^webhooks_delivery_latency_seconds_count\{event_type="call.ended"\} 1$/m);
    assert.match(text, /^webhooks_delivery_latency_seconds_sum\{event_type="call.ended"\} 1.5$/m);
    assert.doesNotMatch(text, /webhooks_delivery_latency_seconds_count\{event_type="agent.login"\}/);
    assert.match(text, /^webhooks_deliveries_total\{outcome="dead",event_type="call.ended"\} 1$/m);
  });

  it('uses histogram buckets spanning the documented ranges', async () => {
    const metrics = createMetrics({ perEndpoint: false });
    const bounds = (name: string) => (metrics.registry.getSingleMetric(name) as unknown as { upperBounds: number[] }).upperBounds;
    const range = (name: string) => [Math.min(...bounds(name)), Math.max(...bounds(name))];
    assert.deepEqual(range('webhooks_attempt_duration_seconds'), [0.001, 10]);
    assert.deepEqual(range('webhooks_delivery_latency_seconds'), [0.005, 600]);
    assert.deepEqual(range('webhooks_retry_lateness_seconds'), [0.001, 30]);
  });
});

describe('resultClass', () => {
  const cases: Array<[status: number | null, kind: string | null, expected: string]> = [
    [200, null, '2xx'],
    [204, null, '2xx'],
    [299, null, '2xx'],
    [301, 'redirect', '3xx'],
    [308, null, '3xx'],
    [400, 'http_status', '4xx'],
    [410, 'http_status', '4xx'],
    [429, 'http_status', '4xx'],
    [500, 'http_status', '5xx'],
    [503, null, '5xx'],
    [599, null, '5xx'],
    [null, 'timeout', 'timeout'],
    [200, 'timeout', 'timeout'],
    [null, 'aborted', 'aborted'],
    [null, 'cancelled', 'aborted'],
    [null, 'network', 'network'],
    [null, 'dns', 'network'],
    [null, null, 'network'],
    [101, null, 'network'],
    [600, null, 'network'],
  ];
  for (const [status, kind, expected] of cases) {
    it(`maps status ${status} with error kind ${kind} to ${expected}`, () => {
      assert.equal(resultClass(status, kind), expected);
    });
  }

  it('only ever returns a documented result label', () => {
    for (const status of [null, 0, 100, 199, 200, 350, 404, 504, 700]) {
      for (const kind of [null, 'timeout', 'aborted', 'network', 'http_status', 'weird']) {
        assert.ok(ATTEMPT_RESULTS.includes(resultClass(status, kind)));
      }
    }
  });
});
