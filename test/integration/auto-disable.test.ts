import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type pg from 'pg';
import { setEndpointEnabled } from '../../src/endpoints/endpoint-store.ts';
import type { Service } from '../../src/service.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { openTestKafka, type TestKafka } from '../support/kafka.ts';
import { TestReceiver, type ReceivedRequest } from '../support/receiver.ts';
import { startTestService, testEnv } from '../support/service.ts';
import { waitFor } from '../support/wait-for.ts';

// Auto-disable and the failing alert end to end: a real dispatcher, Kafka and Postgres, receivers
// on loopback. Durations are short (ALERT_FAILING_AFTER 1 s, AUTO_DISABLE_AFTER 4 s, one retry
// after 300 ms), so an endpoint answering 500 is failing within seconds and disabled soon after.

const SECRET = 'whsec_' + Buffer.alloc(32, 9).toString('base64');
let db: TestDatabase;
let kafka: TestKafka;
let receiver: TestReceiver;
let service: Service;
let env: Record<string, string>;
let input: string;
let flakyStatus = 500;
const ids: Record<string, string> = {};

async function q<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<R[]> {
  return (await db.pool.query<R>(text, values)).rows;
}

async function addEndpoint(name: string, url: string, types: string[]): Promise<void> {
  const [row] = await q<{ id: string }>(
    `insert into webhooks.endpoints (name, url, secret, event_types) values ($1, $2, $3, $4) returning id`,
    [name, url, SECRET, types],
  );
  ids[name] = row!.id;
}

before(async () => {
  db = await createTestDatabase('auto_disable');
  kafka = await openTestKafka('auto_disable');
  receiver = await TestReceiver.start();
  // Subscribed to alert.triggered too: it must never be sent the alert that it was disabled.
  await addEndpoint('broken', receiver.route('/broken', SECRET, 500), ['call.ended', 'alert.triggered']);
  await addEndpoint('pager', receiver.route('/pager', SECRET), ['alert.triggered']);
  await addEndpoint(
    'flaky',
    receiver.route('/flaky', SECRET, () => ({ status: flakyStatus })),
    ['lead.updated'],
  );
  env = testEnv(db.url, 'auto_disable', {
    RETRY_DELAYS: '300ms',
    DELIVERY_TIMEOUT_MS: '3000',
    ALERT_FAILING_AFTER: '1s',
    AUTO_DISABLE_AFTER: '4s',
    AUTO_DISABLE_MIN_DEAD: '2',
    AUTO_DISABLE_CHECK_INTERVAL: '250ms',
  });
  input = env.INPUT_TOPICS!;
  service = await startTestService(env);
});

after(async () => {
  await service?.stop();
  await receiver?.close();
  await kafka?.close();
  await db?.drop();
});

function event(type: string, n: number): string {
  const data = type === 'call.ended' ? { call_id: `c${n}`, disposition: 'SALE' } : { lead_id: `l${n}`, changes: { status: 'won' } };
  return JSON.stringify({ event: type, timestamp: new Date().toISOString(), data });
}

let sent = 0;
async function produce(type: string, count: number): Promise<void> {
  await kafka.produce(
    input,
    Array.from({ length: count }, () => ({ key: `k${++sent}`, value: event(type, sent), headers: { 'event-id': `evt-auto-${sent}` } })),
  );
}

/** Alerts the pager received about `endpoint`, of one kind. */
function alertsAt(path: string, endpoint: string, alert?: string): ReceivedRequest[] {
  return receiver
    .to(path)
    .filter((r) => r.json.event === 'alert.triggered' && r.json.data.endpoint_id === ids[endpoint])
    .filter((r) => alert === undefined || r.json.data.alert === alert);
}

async function queuedAlerts(endpoint: string): Promise<Array<{ alert: string; failing_since: string }>> {
  return q(
    `select alert, event->'data'->>'failing_since' as failing_since from webhooks.alerts where endpoint_id = $1 order by created_at`,
    [ids[endpoint]],
  );
}

async function metric(name: string): Promise<number> {
  const m = await service.metrics.registry.getSingleMetric(name)!.get();
  return m.values.reduce((sum, v) => sum + v.value, 0);
}

test('an endpoint failing every attempt is disabled with its reason, and an endpoint subscribed to alert.triggered receives the alerts, signed', async () => {
  await produce('call.ended', 3);
  await receiver.waitFor(
    () => alertsAt('/pager', 'broken', 'webhook_endpoint_disabled').length > 0,
    60_000,
    'the disabled alert at /pager',
  );

  const [ep] = await q<{ enabled: boolean; disabled_reason: string }>(
    `select enabled, disabled_reason from webhooks.endpoints where id = $1`,
    [ids.broken],
  );
  assert.equal(ep!.enabled, false);
  assert.match(ep!.disabled_reason, /^auto-disabled: every attempt failed since \S+Z \(\d+ dead deliveries\); last error: HTTP 500$/);

  const failing = alertsAt('/pager', 'broken', 'webhook_endpoint_failing');
  const disabled = alertsAt('/pager', 'broken', 'webhook_endpoint_disabled');
  assert.equal(failing.length, 1, 'the failing alert came first, once');
  assert.equal(disabled.length, 1);
  for (const r of [...failing, ...disabled]) {
    assert.ok(r.specSignatureValid && r.standardSignatureValid, 'signed like any webhook');
  }
  const data = disabled[0]!.json.data;
  assert.equal(data.endpoint_name, 'broken');
  assert.equal(data.reason, ep!.disabled_reason);
  assert.equal(data.last_error, 'HTTP 500');
  assert.ok(Number(data.dead_deliveries) >= 2);
  assert.equal(data.failing_since, failing[0]!.json.data.failing_since, 'both alerts are about one streak');
  assert.ok(failing[0]!.at < disabled[0]!.at);

  assert.equal(alertsAt('/broken', 'broken', 'webhook_endpoint_disabled').length, 0, 'a disabled endpoint is not sent its own alert');
  assert.equal(await metric('webhooks_endpoints_auto_disabled_total'), 1);
  assert.equal(await metric('webhooks_alerts_produced_total'), 2);
});

test('the failing alert goes out once per streak, not again after a restart; a success ends the streak and the next failure starts a new one', async () => {
  flakyStatus = 500;
  await produce('lead.updated', 1);
  await receiver.waitFor(() => alertsAt('/pager', 'flaky').length === 1, 60_000, "flaky's failing alert at /pager");

  await service.stop();
  service = await startTestService(env);
  // The gauge is set at the end of each sweep: at 1 (flaky), the new dispatcher has swept once.
  await waitFor(async () => (await metric('webhooks_endpoints_failing')) === 1, { timeoutMs: 30_000, what: 'a sweep after the restart' });
  assert.deepEqual(
    (await queuedAlerts('flaky')).map((a) => a.alert),
    ['webhook_endpoint_failing'],
    'the restarted dispatcher, having swept, did not queue it again',
  );

  flakyStatus = 200;
  await produce('lead.updated', 1);
  await waitFor(
    async () => (await q(`select 1 from webhooks.failing_streaks where endpoint_id = $1 and failing_since is null`, [ids.flaky])).length,
    { timeoutMs: 30_000, what: "flaky's success ending its streak" },
  );
  flakyStatus = 500;
  await produce('lead.updated', 1);
  await receiver.waitFor(() => alertsAt('/pager', 'flaky').length === 2, 60_000, "flaky's second failing alert at /pager");
  const [first, second] = await queuedAlerts('flaky');
  assert.equal(second!.alert, 'webhook_endpoint_failing');
  assert.ok(Date.parse(second!.failing_since) > Date.parse(first!.failing_since), 'a new streak, with its own start');
  const [ep] = await q<{ enabled: boolean }>(`select enabled from webhooks.endpoints where id = $1`, [ids.flaky]);
  assert.equal(ep!.enabled, true, 'one dead delivery per streak: never disabled');
});

test('an endpoint enabled again starts a new streak: its failing alert is sent again', async () => {
  const enabledAt = Date.now();
  assert.equal((await setEndpointEnabled(service.database.db, ids.broken!, true, null))?.changed, true);
  assert.equal((await q(`select 1 from webhooks.failing_streaks where endpoint_id = $1`, [ids.broken])).length, 0);
  await waitFor(() => service.endpoints.get(ids.broken!), { timeoutMs: 30_000, what: 'broken back in the endpoint index' });
  await produce('call.ended', 1);
  await receiver.waitFor(
    () => alertsAt('/pager', 'broken', 'webhook_endpoint_failing').length === 2,
    60_000,
    "broken's failing alert of its new streak",
  );
  const latest = alertsAt('/pager', 'broken', 'webhook_endpoint_failing')[1]!;
  assert.ok(Date.parse(String(latest.json.data.failing_since)) >= enabledAt - 1000);
});
