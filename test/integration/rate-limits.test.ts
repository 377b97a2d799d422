import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql } from 'kysely';
import { createEndpoint, updateEndpoint } from '../../src/endpoints/endpoint-store.ts';
import { endpointValidationError } from '../../src/endpoints/endpoint-errors.ts';
import { dbError } from '../support/database.ts';
import type { ReceivedRequest } from '../support/receiver.ts';
import { openDispatcherFixture, type DispatcherFixture } from '../support/service.ts';
import { waitFor } from '../support/wait-for.ts';

const SECRET = 'whsec_' + Buffer.alloc(32, 17).toString('base64');

function events(n: number, type = 'call.ended'): Array<{ value: string; partition: number }> {
  // One partition: the limited endpoint and its neighbour share every message and its commit.
  return Array.from({ length: n }, (_, i) => ({
    value: JSON.stringify({ event: type, timestamp: new Date().toISOString(), data: { call_id: `c${i}` } }),
    partition: 0,
  }));
}

async function withFixture(
  label: string,
  options: Parameters<typeof openDispatcherFixture>[1],
  body: (f: DispatcherFixture) => Promise<void>,
) {
  const f = await openDispatcherFixture(label, options);
  try {
    await body(f);
  } finally {
    await f.close();
  }
}

/** The most requests in any window of `ms` starting at one of them. */
function mostInWindow(requests: readonly ReceivedRequest[], ms: number): number {
  const at = requests.map((r) => r.at).sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; i < at.length; i++) {
    while (j < at.length && at[j]! < at[i]! + ms) j++;
    most = Math.max(most, j - i);
  }
  return most;
}

test('a 2/s endpoint receives no faster than its limit while its neighbour on the same partition runs at full speed and the partition commits', async () => {
  // 2/s rather than more: arrival times jitter on a loaded machine (the receiver shares this
  // process's event loop), and an extra request enters a 1 s window only after jitter of one
  // token interval, 500 ms here.
  const EVENTS = 20;
  const RATE = 2;
  await withFixture(
    'ratelimit',
    {
      secret: SECRET,
      endpoints: [
        ['limited', 200, { max_per_second: RATE }],
        ['neighbour', 200],
      ],
      env: { RETRY_DELAYS: '2s,10s' },
    },
    async ({ db, kafka, receiver, service, input }) => {
      await kafka.produce(input, events(EVENTS));
      await receiver.waitFor((r) => r.filter((x) => x.path === '/neighbour').length >= EVENTS, 30_000, 'every event at the neighbour');
      const neighbourDoneAt = Math.max(...receiver.to('/neighbour').map((r) => r.at));
      assert.ok(receiver.to('/limited').length < EVENTS, 'the neighbour did not wait for the limited endpoint');

      // The input partition commits while the limited endpoint still has deliveries parked.
      const total = (await kafka.admin.fetchTopicOffsets(input)).reduce((s, p) => s + Number(p.high), 0);
      const parkedAtCommit = await waitFor(
        async () => {
          if ((await kafka.committedTotal(service.config.kafka.groupId, input)) < total) return null;
          const r = await sql<{ n: number }>`
            select count(*)::int as n from webhooks.deliveries
             where status = 'retrying' and attempts = 0 and status_reason like 'throttled:%'`.execute(db.db);
          return { parked: r.rows[0]!.n };
        },
        { what: 'the input committed to its end', timeoutMs: 30_000 },
      );
      assert.ok(parkedAtCommit.parked > 0, 'deliveries were still parked when the partition had committed');
      assert.ok(receiver.to('/limited').length < EVENTS, 'committed before the limited endpoint had everything');

      await receiver.waitFor((r) => r.filter((x) => x.path === '/limited').length >= EVENTS, 60_000, 'every event at the limited endpoint');
      const limited = receiver.to('/limited');
      assert.equal(new Set(limited.map((r) => r.headers['webhook-id'])).size, EVENTS, 'each delivery sent once');
      assert.ok(
        limited.every((r) => r.headers['x-webhook-attempt'] === '1'),
        'parking used up no attempt',
      );
      const most = mostInWindow(limited, 1000);
      assert.ok(most <= RATE + RATE, `at most rate + burst (burst = rate) in any second, got ${most}`);
      const span = Math.max(...limited.map((r) => r.at)) - Math.min(...limited.map((r) => r.at));
      assert.ok(span >= ((EVENTS - 2 * RATE) / RATE) * 1000, `paced over ${span} ms`);
      assert.ok(Math.max(...limited.map((r) => r.at)) - neighbourDoneAt > 3000, "the neighbour's deliveries all arrived well before");

      const rows = await waitFor(
        async () => {
          const r = await sql<{ status: string; attempts: number }>`
            select d.status, d.attempts from webhooks.deliveries d join webhooks.endpoints e on e.id = d.endpoint_id
             where e.name = 'limited'`.execute(db.db);
          return r.rows.length === EVENTS && r.rows.every((x) => x.status === 'succeeded') ? r.rows : null;
        },
        { what: 'every limited delivery recorded as succeeded', timeoutMs: 20_000 },
      );
      assert.ok(rows.every((x) => x.attempts === 1));
      const failed = await sql<{ n: number }>`select count(*)::int as n from webhooks.attempts where outcome <> 'succeeded'`.execute(db.db);
      assert.equal(failed.rows[0]!.n, 0, 'no failed attempt rows: parking is no attempt');
      const metric = await service.metrics.registry.getSingleMetricAsString('webhooks_deliveries_throttled_total');
      assert.match(metric, /webhooks_deliveries_throttled_total\{endpoint="limited",action="parked"\} [1-9]/);
      assert.doesNotMatch(metric, /endpoint="neighbour"/);
    },
  );
});

test('max_in_flight 1: the receiver never sees two requests to the endpoint at once', async () => {
  const EVENTS = 12;
  await withFixture(
    'maxinflight',
    {
      secret: SECRET,
      endpoints: [
        ['single', () => ({ status: 200, afterMs: 50 }), { max_in_flight: 1 }],
        ['wide', () => ({ status: 200, afterMs: 50 })],
      ],
      env: { ENDPOINT_STALL_MS: '5000' },
    },
    async ({ kafka, receiver, input }) => {
      await kafka.produce(input, events(EVENTS));
      await receiver.waitFor(
        (r) => r.filter((x) => x.path === '/single').length >= EVENTS && r.filter((x) => x.path === '/wide').length >= EVENTS,
        30_000,
        'every event at both endpoints',
      );
      assert.equal(receiver.maxConcurrent('/single'), 1);
      assert.ok(receiver.maxConcurrent('/wide') > 1, 'without a limit the same events overlap (the check can see overlap)');
    },
  );
});

test('a 429 with Retry-After delays the next attempts to that endpoint by at least Retry-After, beyond a shorter retry tier', async () => {
  const RETRY_AFTER_S = 2;
  await withFixture(
    'retryafter',
    {
      secret: SECRET,
      endpoints: [['busy', (n) => (n === 1 ? { status: 429, headers: { 'retry-after': String(RETRY_AFTER_S) } } : { status: 200 })]],
      // The only retry tier (1 s) is shorter than the Retry-After: the throttle makes up the rest.
      env: { RETRY_DELAYS: '1s' },
    },
    async ({ kafka, receiver, input }) => {
      await kafka.produce(input, events(1));
      await receiver.waitFor((r) => r.length >= 1, 30_000, 'the first request (answered 429)');
      const first = receiver.to('/busy')[0]!;
      await kafka.produce(input, events(1));
      await receiver.waitFor((r) => r.length >= 3, 30_000, 'the retry and the second event');
      const [, ...later] = receiver.to('/busy');
      for (const r of later) {
        assert.ok(r.at - first.at >= RETRY_AFTER_S * 1000, `a request ${r.at - first.at} ms after the 429`);
      }
      const retry = later.find((r) => r.headers['webhook-id'] === first.headers['webhook-id']);
      assert.equal(retry?.headers['x-webhook-attempt'], '2', 'the 429 was attempt 1; its retry is attempt 2');
    },
  );
});

test('bad max_per_second and max_in_flight values are refused naming the column', async () => {
  await withFixture('ratelimitbad', { secret: SECRET, endpoints: [] }, async ({ db, receiver }) => {
    const url = receiver.url('/x');
    for (const [columns, column, message] of [
      [{ maxPerSecond: 0 }, 'max_per_second', /max_per_second of endpoint "bad" must be a number above 0/],
      [{ maxPerSecond: -2 }, 'max_per_second', /must be a number above 0/],
      [{ maxPerSecond: Number.NaN }, 'max_per_second', /must be a number above 0/],
      [{ maxInFlight: 0 }, 'max_in_flight', /max_in_flight of endpoint "bad" must be a whole number from 1 to 10000/],
    ] as const) {
      const err = await dbError(createEndpoint(db.db, { name: 'bad', url, eventTypes: ['call.ended'], ...columns }));
      assert.match(err.message, message);
      assert.equal(endpointValidationError(err)?.field, column);
    }
    const ok = await createEndpoint(db.db, { name: 'good', url, eventTypes: ['call.ended'], maxPerSecond: 0.5, maxInFlight: 2 });
    assert.equal(ok.maxPerSecond, 0.5);
    assert.equal(ok.maxInFlight, 2);
    const cleared = await updateEndpoint(db.db, ok.id, { maxPerSecond: null, maxInFlight: null });
    assert.equal(cleared?.maxPerSecond, null);
    assert.equal(cleared?.maxInFlight, null);
    const refused = await dbError(updateEndpoint(db.db, ok.id, { maxInFlight: 20_000 }));
    assert.equal(endpointValidationError(refused)?.field, 'max_in_flight');
  });
});
