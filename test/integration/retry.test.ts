import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sql } from 'kysely';
import type { Service } from '../../src/service.ts';
import { type TestKafka } from '../support/kafka.ts';
import { waitFor } from '../support/wait-for.ts';
import { failFirst, type TestReceiver } from '../support/receiver.ts';
import { openDispatcherFixture, type DispatcherFixture } from '../support/service.ts';

const SECRET = 'whsec_' + Buffer.alloc(32, 9).toString('base64');
const DELAYS = [1000, 2000, 3000];

let fixture: DispatcherFixture;
let db: DispatcherFixture['db'];
let kafka: TestKafka;
let receiver: TestReceiver;
let service: Service;
let env: Record<string, string>;

function event(n: number): string {
  return JSON.stringify({
    event: 'call.ended',
    timestamp: new Date().toISOString(),
    data: { call_id: `c${n}`, agent: 'a', duration: 1, disposition: 'SALE' },
  });
}

before(async () => {
  fixture = await openDispatcherFixture('retry', {
    secret: SECRET,
    endpoints: [
      ['fail1', failFirst(1)],
      ['fail2', failFirst(2)],
      ['fail3', failFirst(3)],
      ['always', 500],
    ],
    env: { RETRY_DELAYS: DELAYS.map((d) => `${d}ms`).join(',') },
  });
  ({ db, kafka, receiver, service, env } = fixture);
});

after(() => fixture?.close());

test('a receiver failing the first k attempts gets exactly k+1 requests, each after its delay and never before', async () => {
  await kafka.produce(env.INPUT_TOPICS!, [{ value: event(1), headers: { 'event-id': 'retry-1' } }]);
  await receiver.waitFor(
    (r) => r.filter((x) => x.path === '/fail3').length >= 4 && r.filter((x) => x.path === '/always').length >= 4,
    30_000,
    'all attempts',
  );
  for (const [path, expected] of [
    ['/fail1', 2],
    ['/fail2', 3],
    ['/fail3', 4],
    ['/always', 4],
  ] as const) {
    await waitFor(() => receiver.to(path).length >= expected, { what: `${expected} requests at ${path}` });
    const reqs = receiver.to(path);
    assert.equal(reqs.length, expected, `${path} gets ${expected} requests`);
    assert.deepEqual(
      reqs.map((r) => r.headers['x-webhook-attempt']),
      reqs.map((_, i) => String(i + 1)),
      'attempts in order',
    );
    assert.equal(new Set(reqs.map((r) => r.headers['webhook-id'])).size, 1, 'one webhook-id across retries');
    for (let i = 1; i < reqs.length; i++) {
      const gap = reqs[i]!.at - reqs[i - 1]!.at;
      assert.ok(gap >= DELAYS[i - 1]!, `${path} attempt ${i + 1} came ${gap} ms after attempt ${i}, before the ${DELAYS[i - 1]} ms delay`);
    }
    for (const r of reqs) assert.ok(r.specSignatureValid && r.standardSignatureValid, 'every attempt is signed afresh and verifies');
    assert.equal(new Set(reqs.map((r) => r.headers['webhook-signature'])).size, reqs.length, 'signatures are made afresh per attempt');
  }

  // The delivery log tells the whole story.
  const rows = await waitFor(
    async () => {
      const r = await sql<{ name: string; status: string; attempts: number; rows: number }>`
      select e.name, d.status, d.attempts, (select count(*)::int from webhooks.attempts a where a.delivery_id = d.id) as rows
        from webhooks.deliveries d join webhooks.endpoints e on e.id = d.endpoint_id where d.event_id = 'retry-1' order by e.name`.execute(
        db.db,
      );
      return r.rows.every((x) => x.status === 'succeeded' || x.status === 'dead') && r.rows.length === 4 ? r.rows : null;
    },
    { what: 'final delivery states' },
  );
  assert.deepEqual(
    rows.map((r) => [r.name, r.status, r.attempts, r.rows]),
    [
      ['always', 'dead', 4, 4],
      ['fail1', 'succeeded', 2, 2],
      ['fail2', 'succeeded', 3, 3],
      ['fail3', 'succeeded', 4, 4],
    ],
  );
  const attempts = await sql<{ attempt: number; delay_ms: number | null; late_ms: number | null; status_code: number }>`
    select a.attempt, a.delay_ms, extract(epoch from (a.started_at - a.due_at)) * 1000 as late_ms, a.status_code
      from webhooks.attempts a join webhooks.endpoints e on e.id = a.endpoint_id where e.name = 'always' order by a.attempt`.execute(db.db);
  assert.deepEqual(
    attempts.rows.map((a) => a.delay_ms),
    [null, ...DELAYS],
  );
  for (const a of attempts.rows.slice(1))
    assert.ok(Number(a.late_ms) >= 0, `attempt ${a.attempt} started ${a.late_ms} ms after its due time`);

  // Dead: on the dead-letter topic with its last error, and counted.
  const dead = await waitFor(
    async () => {
      const all = await kafka.readAll(service.topics.deadLetter);
      return all.length >= 1 ? all : null;
    },
    { what: 'a dead letter' },
  );
  assert.equal(dead.length, 1);
  const h = dead[0]!.headers;
  assert.equal(String(h['attempt']), '4');
  assert.equal(String(h['last-status-code']), '500');
  assert.match(String(h['dead-reason']), /failed 4 attempts/);
  assert.deepEqual(JSON.parse(dead[0]!.value!.toString()).data.call_id, 'c1');
  const metric = await service.metrics.registry.getSingleMetricAsString('webhooks_deliveries_total');
  assert.match(metric, /outcome="dead",event_type="call.ended"[^}]*} 1\b/);
});

test('a disabled endpoint cancels its waiting retry, and nothing is sent', async () => {
  await kafka.produce(env.INPUT_TOPICS!, [{ value: event(2), headers: { 'event-id': 'retry-2' } }]);
  await receiver.waitFor((r) => r.some((x) => x.path === '/always' && x.json.data.call_id === 'c2'), 10_000, 'first attempt');
  await sql`update webhooks.endpoints set enabled = false where name = 'always'`.execute(db.db);
  const row = await waitFor(
    async () => {
      const r = await sql<{ status: string; status_reason: string }>`
      select d.status, d.status_reason from webhooks.deliveries d join webhooks.endpoints e on e.id = d.endpoint_id
       where d.event_id = 'retry-2' and e.name = 'always'`.execute(db.db);
      return r.rows[0]?.status === 'cancelled' ? r.rows[0] : null;
    },
    { what: 'the delivery cancelled' },
  );
  assert.equal(row.status_reason, 'endpoint disabled');
  assert.equal(receiver.to('/always').filter((x) => x.json.data.call_id === 'c2').length, 1, 'no request after the endpoint was disabled');
  await sql`update webhooks.endpoints set enabled = true where name = 'always'`.execute(db.db);
});

test('410 Gone ends the delivery at once and disables the endpoint with a reason', async () => {
  await db.db
    .insertInto('webhooks.endpoints')
    .values({ name: 'gone', url: receiver.route('/gone', SECRET, 410), secret: SECRET, event_types: ['lead.updated'] })
    .execute();
  await waitFor(() => service.endpoints.current().match('lead.updated').length === 1, { what: 'the new endpoint loaded' });
  await kafka.produce(env.INPUT_TOPICS!, [
    { value: JSON.stringify({ event: 'lead.updated', timestamp: new Date().toISOString(), data: { lead_id: 'l1' } }) },
  ]);
  const ep = await waitFor(
    async () => {
      const e = await db.db
        .selectFrom('webhooks.endpoints')
        .select(['enabled', 'disabled_reason'])
        .where('name', '=', 'gone')
        .executeTakeFirstOrThrow();
      return e.enabled ? null : e;
    },
    { what: 'the endpoint disabled' },
  );
  assert.match(ep.disabled_reason ?? '', /^410 Gone from http:\/\/127\.0\.0\.1:\d+ at /);
  const d = await waitFor(
    async () => {
      const r = await sql<{
        status: string;
        attempts: number;
      }>`select d.status, d.attempts from webhooks.deliveries d join webhooks.endpoints e on e.id = d.endpoint_id where e.name = 'gone'`.execute(
        db.db,
      );
      return r.rows[0]?.status === 'dead' ? r.rows[0] : null;
    },
    { what: 'the delivery dead' },
  );
  assert.equal(d.attempts, 1);
  assert.equal(receiver.to('/gone').length, 1);
});

test('Retry-After on a 429 is honoured: the retry waits at least that long', async () => {
  await db.db
    .insertInto('webhooks.endpoints')
    .values({
      name: 'busy',
      url: receiver.route('/busy', SECRET, (n) => (n === 1 ? { status: 429, headers: { 'retry-after': '2' } } : { status: 200 })),
      secret: SECRET,
      event_types: ['agent.login'],
    })
    .execute();
  await waitFor(() => service.endpoints.current().match('agent.login').length === 1, { what: 'the new endpoint loaded' });
  await kafka.produce(env.INPUT_TOPICS!, [
    { value: JSON.stringify({ event: 'agent.login', timestamp: new Date().toISOString(), data: { agent: 'x' } }) },
  ]);
  await receiver.waitFor((r) => r.filter((x) => x.path === '/busy').length >= 2, 20_000, 'the retry');
  const [a, b] = receiver.to('/busy');
  assert.ok(b!.at - a!.at >= 2000, `retried after ${b!.at - a!.at} ms, Retry-After asked for 2000`);
});
