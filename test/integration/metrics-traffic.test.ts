import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sql } from 'kysely';
import type { Service } from '../../src/service.ts';
import { type TestKafka } from '../support/kafka.ts';
import { waitFor } from '../support/wait-for.ts';
import { failFirst } from '../support/receiver.ts';
import { openDispatcherFixture, type DispatcherFixture } from '../support/service.ts';

const SECRET = 'whsec_' + Buffer.alloc(32, 11).toString('base64');
let fixture: DispatcherFixture;
let db: DispatcherFixture['db'];
let kafka: TestKafka;
let service: Service;
let input: string;

before(async () => {
  fixture = await openDispatcherFixture('metrics', {
    secret: SECRET,
    endpoints: [
      ['ok', 200],
      ['flaky', failFirst(1)],
      ['dead', 500],
    ],
    env: { RETRY_DELAYS: '300ms,300ms,300ms' },
  });
  ({ db, kafka, service, input } = fixture);
});

after(() => fixture?.close());

/** Sums the samples of `name` whose labels include every pair in `labels`. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-z_:]+)(\{([^}]*)\})? ([0-9.e+-]+|NaN)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[3] ?? '').matchAll(/([a-z_]+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum += Number(m[4]);
  }
  return sum;
}

test('scraped counters and histograms match known traffic: successes, failures, retries, dead letters, an invalid event', async () => {
  await kafka.produce(input, [
    ...[1, 2, 3].map((n) => ({
      value: JSON.stringify({ event: 'call.ended', timestamp: new Date().toISOString(), data: { call_id: `m${n}` } }),
    })),
    { value: '{"event": "call.ended", "timest' },
  ]);
  await waitFor(
    async () => {
      const r = await sql<{ n: number }>`select count(*)::int as n from webhooks.deliveries where status in ('succeeded', 'dead')`.execute(
        db.db,
      );
      return r.rows[0]!.n === 9;
    },
    { what: 'nine deliveries settled', timeoutMs: 30_000 },
  );

  const res = await fetch(`http://127.0.0.1:${service.httpPort}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
  const text = await res.text();

  assert.equal(sample(text, 'webhooks_events_consumed_total', { topic: input, event_type: 'call.ended' }), 3);
  assert.equal(sample(text, 'webhooks_events_invalid_total', { topic: input, reason: 'invalid_json' }), 1);
  // ok: 3 successes; flaky: 3 failures then 3 successes; dead: 4 failures each for 3 deliveries.
  assert.equal(sample(text, 'webhooks_attempts_total', { result: '2xx' }), 6);
  assert.equal(sample(text, 'webhooks_attempts_total', { result: '5xx' }), 15);
  assert.equal(sample(text, 'webhooks_attempt_duration_seconds_count'), 21);
  assert.equal(sample(text, 'webhooks_deliveries_total', { outcome: 'succeeded' }), 6);
  assert.equal(sample(text, 'webhooks_deliveries_total', { outcome: 'retried' }), 12);
  assert.equal(sample(text, 'webhooks_deliveries_total', { outcome: 'dead' }), 3);
  assert.equal(sample(text, 'webhooks_deliveries_total', { outcome: 'cancelled' }), 0);
  assert.equal(sample(text, 'webhooks_retries_scheduled_total', { tier: '300ms' }), 12);
  assert.equal(sample(text, 'webhooks_retry_lateness_seconds_count', { tier: '300ms' }), 12);
  assert.equal(sample(text, 'webhooks_delivery_latency_seconds_count', { event_type: 'call.ended' }), 6);
  assert.equal(sample(text, 'webhooks_endpoints_enabled'), 3);
  assert.equal(sample(text, 'webhooks_deliveries_in_flight'), 0);
  assert.equal(sample(text, 'webhooks_delivery_log_rows_written_total'), 21, 'one log record per attempt');
  assert.equal(sample(text, 'webhooks_consumer_up', { consumer: 'input' }), 1);
  assert.equal(sample(text, 'webhooks_consumer_up', { consumer: 'retry' }), 1);
  assert.ok(text.includes('process_resident_memory_bytes'), 'default process metrics');
  assert.ok(text.includes('nodejs_eventloop_lag_seconds'), 'event loop metrics');
  // No unbounded labels: no URL and no id appears anywhere in the scrape.
  assert.ok(!text.includes('127.0.0.1'), 'no URL in any label');
  assert.ok(!/[0-9a-f]{8}-[0-9a-f]{4}-/.test(text), 'no id in any label');
});

test('consumer lag per input topic is polled from the broker and falls to 0 once everything is committed', async () => {
  await waitFor(
    async () => {
      const text = await (await fetch(`http://127.0.0.1:${service.httpPort}/metrics`)).text();
      return text.includes(`webhooks_consumer_lag_messages{group="${service.config.kafka.groupId}",topic="${input}"} 0`);
    },
    { what: 'input lag 0 after draining', timeoutMs: 20_000 },
  );
});
