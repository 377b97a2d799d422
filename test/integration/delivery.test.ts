import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sql } from 'kysely';
import { SPEC_EVENT_TYPES as EVENT_TYPES } from '../support/spec-catalog.ts';
import type { Service } from '../../src/service.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { openTestKafka, type TestKafka } from '../support/kafka.ts';
import { freePort } from '../support/ports.ts';
import { waitFor } from '../support/wait-for.ts';
import { TestReceiver } from '../support/receiver.ts';
import { startTestService, testEnv } from '../support/service.ts';

let db: TestDatabase;
let kafka: TestKafka;
let receiver: TestReceiver;
let service: Service;
let input: string;

const SECRET = 'whsec_' + Buffer.alloc(32, 7).toString('base64');

function sampleData(type: string, n: number): Record<string, unknown> {
  if (type.startsWith('call.'))
    return { call_id: `c${n}`, agent: 'jsmith', phone_number: '5551234567', duration: 180, disposition: 'SALE', campaign: 'Q1-Sales' };
  if (type.startsWith('agent.')) return { agent: 'jsmith', state: type.split('.')[1] };
  if (type === 'lead.updated') return { lead_id: `l${n}`, changes: { status: 'won' } };
  if (type === 'recording.ready') return { recording_id: `r${n}`, call_id: `c${n}`, url: 'https://rec.example/r.mp3' };
  return { alert: 'abandon_rate', threshold: 5, value: 9 };
}

function event(type: string, n: number): string {
  return JSON.stringify({ event: type, timestamp: new Date().toISOString(), data: sampleData(type, n) });
}

async function addEndpoint(name: string, url: string, types: string[], enabled = true): Promise<string> {
  const row = await db.db
    .insertInto('webhooks.endpoints')
    .values({ name, url, secret: SECRET, event_types: types, enabled })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

before(async () => {
  db = await createTestDatabase('delivery');
  kafka = await openTestKafka('delivery');
  receiver = await TestReceiver.start();
  const refused = await freePort();
  await addEndpoint('crm', receiver.route('/crm', SECRET), ['call.ended']);
  await addEndpoint('staffing', receiver.route('/staffing', SECRET), ['agent.login', 'agent.logout']);
  await addEndpoint('audit', receiver.route('/audit', SECRET), ['*']);
  await addEndpoint('later', receiver.route('/later', SECRET), ['*'], false);
  await addEndpoint('broken', receiver.route('/broken', SECRET, 500), ['alert.triggered']);
  await addEndpoint('slow', receiver.route('/slow', SECRET, 'hang'), ['alert.triggered']);
  await addEndpoint('moved', receiver.route('/moved', SECRET, { redirect: receiver.url('/audit') }), ['alert.triggered']);
  await addEndpoint('refused', `http://127.0.0.1:${refused}/hook`, ['alert.triggered']);
  const env = testEnv(db.url, 'delivery', { DELIVERY_TIMEOUT_MS: '1500', RETRY_DELAYS: '10m' });
  input = env.INPUT_TOPICS!;
  service = await startTestService(env);
});

after(async () => {
  await service?.stop();
  await receiver?.close();
  await kafka?.close();
  await db?.drop();
});

test('events of all nine types reach exactly the endpoints subscribed to them, signed both ways', async () => {
  await kafka.produce(
    input,
    EVENT_TYPES.map((t, i) => ({ key: `k${i}`, value: event(t, i) })),
  );
  await receiver.waitFor((r) => r.filter((x) => x.path === '/audit').length >= 9, 30_000, 'nine events at /audit');
  await receiver.waitFor((r) => r.filter((x) => x.path === '/crm').length >= 1 && r.filter((x) => x.path === '/staffing').length >= 2);

  assert.deepEqual(
    receiver
      .to('/audit')
      .map((r) => r.json.event)
      .sort(),
    [...EVENT_TYPES].sort(),
  );
  assert.deepEqual(
    receiver.to('/crm').map((r) => r.json.event),
    ['call.ended'],
  );
  assert.deepEqual(
    receiver
      .to('/staffing')
      .map((r) => r.json.event)
      .sort(),
    ['agent.login', 'agent.logout'],
  );
  assert.equal(receiver.to('/later').length, 0, 'a disabled endpoint receives nothing');

  for (const r of receiver.requests.filter((x) => ['/audit', '/crm', '/staffing'].includes(x.path))) {
    assert.ok(r.specSignatureValid, 'X-Webhook-Signature verifies with the spec snippet');
    assert.ok(r.standardSignatureValid, 'webhook-signature verifies with the standardwebhooks package');
    assert.equal(r.headers['content-type'], 'application/json');
    assert.equal(r.headers['x-webhook-event'], r.json.event);
    assert.equal(r.headers['x-webhook-attempt'], '1');
    assert.match(String(r.headers['user-agent']), /^dialer-webhooks\/\d+\.\d+\.\d+/);
    assert.match(String(r.headers['webhook-id']), /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.deepEqual(Object.keys(r.json), ['event', 'timestamp', 'data']);
  }
  const callEnded = receiver.to('/crm')[0]!;
  assert.deepEqual(callEnded.json.data, sampleData('call.ended', EVENT_TYPES.indexOf('call.ended')));

  // The delivery log: one succeeded delivery and one attempt row per request.
  await waitFor(
    async () => {
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from webhooks.deliveries where status = 'succeeded'`.execute(
        db.db,
      );
      return rows[0]!.n >= 12;
    },
    { what: 'succeeded deliveries recorded' },
  );
  const attempts = await db.db
    .selectFrom('webhooks.attempts as a')
    .innerJoin('webhooks.deliveries as d', 'd.id', 'a.delivery_id')
    .innerJoin('webhooks.endpoints as e', 'e.id', 'a.endpoint_id')
    .select(['e.name', 'a.status_code', 'a.outcome', 'a.attempt', 'd.status', 'd.event_type'])
    .where('e.name', 'in', ['audit', 'crm', 'staffing'])
    .execute();
  assert.equal(attempts.length, 12);
  for (const a of attempts) {
    assert.equal(a.status_code, 200);
    assert.equal(a.outcome, 'succeeded');
    assert.equal(a.attempt, 1);
    assert.equal(a.status, 'succeeded');
  }
});

test('enabling an endpoint with plain SQL takes effect without a restart', async () => {
  const reloaded = new Promise((resolve) => service.endpoints.once('reloaded', resolve));
  await sql`update webhooks.endpoints set enabled = true where name = 'later'`.execute(db.db);
  await reloaded;
  await kafka.produce(input, [{ value: event('lead.updated', 100) }]);
  await receiver.waitFor((r) => r.some((x) => x.path === '/later'), 20_000, 'a request at /later');
  assert.equal(receiver.to('/later')[0]!.json.event, 'lead.updated');
});

test('a 500, a timeout, a redirect and a refused connection each leave the right attempt row while others keep receiving', async () => {
  const before = receiver.to('/audit').length;
  await kafka.produce(input, [{ value: event('alert.triggered', 200), headers: { 'event-id': 'evt-failures' } }]);
  // Healthy endpoints receive while the slow one is still hanging.
  await receiver.waitFor((r) => r.filter((x) => x.path === '/audit').length > before, 10_000, 'the healthy endpoint');
  const rows = await waitFor(
    async () => {
      const r = await db.db
        .selectFrom('webhooks.attempts as a')
        .innerJoin('webhooks.endpoints as e', 'e.id', 'a.endpoint_id')
        .innerJoin('webhooks.deliveries as d', 'd.id', 'a.delivery_id')
        .select(['e.name', 'a.status_code', 'a.error_kind', 'a.error', 'a.outcome', 'a.duration_ms', 'a.response_body', 'd.status'])
        .where('e.name', 'in', ['broken', 'slow', 'moved', 'refused'])
        .where('d.event_id', '=', 'evt-failures')
        .execute();
      return r.length === 4 ? r : null;
    },
    { what: 'four failed attempt rows', timeoutMs: 20_000 },
  );
  const by = Object.fromEntries(rows.map((r) => [r.name, r]));
  assert.equal(by.broken!.status_code, 500);
  assert.equal(by.broken!.error_kind, 'http_status');
  assert.equal(by.broken!.response_body, 'ok');
  assert.equal(by.slow!.error_kind, 'timeout');
  assert.ok(by.slow!.duration_ms >= 1500, `timeout after the configured 1500 ms, took ${by.slow!.duration_ms}`);
  assert.equal(by.moved!.status_code, 302);
  assert.equal(by.moved!.error_kind, 'redirect');
  assert.equal(by.refused!.error_kind, 'network');
  assert.match(by.refused!.error ?? '', /ECONNREFUSED/);
  for (const r of rows) {
    assert.equal(r.outcome, 'failed');
    assert.equal(r.status, 'retrying', 'a failed first attempt is handed to the retry topic');
  }
  // The redirect was not followed: /audit got exactly one more request (its own delivery).
  assert.equal(receiver.to('/audit').length, before + 1);
});

test('an event the producer sent twice with the same event-id header is delivered once', async () => {
  const value = event('recording.ready', 300);
  await kafka.produce(input, [{ value, headers: { 'event-id': 'rec-300' } }]);
  await receiver.waitFor((r) => r.some((x) => x.path === '/audit' && x.json.data.recording_id === 'r300'), 20_000, 'the first copy');
  await waitFor(
    async () => {
      const r = await sql<{
        n: number;
      }>`select count(*)::int as n from webhooks.deliveries where event_id = 'rec-300' and status = 'succeeded'`.execute(db.db);
      return r.rows[0]!.n >= 1;
    },
    { what: 'the first copy recorded' },
  );
  // The producer retried: the same event again, at a later offset.
  await kafka.produce(input, [{ value, headers: { 'event-id': 'rec-300' } }, { value: event('recording.ready', 301) }]);
  await receiver.waitFor((r) => r.some((x) => x.path === '/audit' && x.json.data.recording_id === 'r301'), 20_000, 'the event after it');
  const high = (await kafka.admin.fetchTopicOffsets(input)).reduce((sum, p) => sum + Number(p.high), 0);
  await waitFor(async () => (await kafka.committedTotal(service.config.kafka.groupId, input)) === high, {
    what: 'every message, the copy included, handled and committed',
  });
  const copies = receiver.to('/audit').filter((x) => x.json.data.recording_id === 'r300');
  assert.equal(copies.length, 1, 'the second copy was recognised by its event-id and not sent');
});
