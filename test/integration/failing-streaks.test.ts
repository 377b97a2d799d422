import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import type pg from 'pg';
import pino from 'pino';
import type { AlertsConfig } from '../../src/config.ts';
import { sweepFailingEndpoints, type AutoDisableOptions } from '../../src/endpoints/auto-disable.ts';
import { TopicProducer } from '../../src/kafka/topic-producer.ts';
import { DeliveryLogWriter, type AttemptRecord } from '../../src/log/delivery-log-writer.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { openTestKafka, uniqueName, type TestKafka } from '../support/kafka.ts';

// Streaks (the attempts trigger of migration 0011) and the sweep's decisions, on real Postgres and
// Kafka, with attempt times written in the past through the real log writer, so hours of failing
// take no time and no test waits on a clock.

const silent = pino({ level: 'silent' });
const MIN = 60_000;
let db: TestDatabase;
let kafka: TestKafka;
let writer: DeliveryLogWriter;
let producer: TopicProducer;
let alertsTopic: string;

before(async () => {
  db = await createTestDatabase('failing_streaks');
  kafka = await openTestKafka('failing_streaks');
  alertsTopic = uniqueName('failing_streaks.alerts');
  await kafka.createTopic(alertsTopic, 1);
  producer = new TopicProducer(kafka.kafka);
  await producer.connect();
  writer = new DeliveryLogWriter({ pool: db.pool, logger: silent, batchSize: 100, flushIntervalMs: 1 });
});

after(async () => {
  await writer?.close();
  await producer?.disconnect();
  await kafka?.close();
  await db?.drop();
});

async function q<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<R[]> {
  return (await db.pool.query<R>(text, values)).rows;
}

async function addEndpoint(name: string): Promise<string> {
  const [row] = await q<{ id: string }>(
    `insert into webhooks.endpoints (name, url, event_types) values ($1, $2, array['call.ended']) returning id`,
    [name, `https://example.com/hooks/${name}`],
  );
  return row!.id;
}

/** One delivery's attempts (minutes ago, ok or HTTP status), written one record at a time; dead if the last failed and `dead`. */
async function deliver(endpointId: string, attempts: Array<[number, 'ok' | number]>, options: { dead?: boolean } = {}): Promise<void> {
  const deliveryId = randomUUID();
  const now = Date.now();
  let n = 0;
  for (const [minutesAgo, result] of attempts) {
    n += 1;
    const startedAt = new Date(now - minutesAgo * MIN);
    const ok = result === 'ok';
    const attempt: AttemptRecord = {
      deliveryId,
      endpointId,
      series: 1,
      attempt: n,
      startedAt,
      durationMs: 5,
      delayMs: null,
      dueAtMs: null,
      url: 'https://example.com/hooks',
      outcome: ok ? 'succeeded' : 'failed',
      statusCode: ok ? 200 : result,
      errorKind: ok ? null : 'http_status',
      error: ok ? null : `HTTP ${result}`,
      responseBody: null,
    };
    const last = n === attempts.length;
    await writer.record(
      {
        deliveryId,
        endpointId,
        eventId: `evt-${deliveryId}`,
        eventType: 'call.ended',
        eventTimestampMs: now,
        status: ok ? 'succeeded' : last && options.dead ? 'dead' : 'retrying',
        statusReason: null,
        series: 1,
        attempts: n,
        lastStatusCode: attempt.statusCode,
        lastError: attempt.error,
        firstAttemptAtMs: now - attempts[0]![0] * MIN,
        lastAttemptAtMs: startedAt.getTime(),
        nextAttemptAtMs: null,
        payload: null,
        source: null,
      },
      attempt,
    );
  }
}

async function streak(endpointId: string) {
  const [row] = await q<{ failing_since: Date | null; failed_attempts: string; last_error: string | null; failing_alert_at: Date | null }>(
    `select failing_since, failed_attempts, last_error, failing_alert_at from webhooks.failing_streaks where endpoint_id = $1`,
    [endpointId],
  );
  return row ?? null;
}

const HOUR = 60; // minutes

function sweepOptions(config: Partial<AlertsConfig> = {}, counts = { disabled: 0, produced: [] as string[] }): AutoDisableOptions {
  return {
    pool: db.pool,
    producer,
    config: {
      topic: alertsTopic,
      failingAfterMs: 60 * MIN,
      autoDisableAfterMs: 24 * 60 * MIN,
      autoDisableMinDead: 2,
      checkIntervalMs: 1000,
      ...config,
    },
    claimLeaseMs: 60_000,
    logger: silent,
    onDisabled: () => counts.disabled++,
    onAlertProduced: (a) => counts.produced.push(a),
  };
}

async function alertsOf(endpointId: string) {
  return q<{ id: string; alert: string; event: { event: string; data: Record<string, unknown> }; produced_at: Date | null }>(
    `select id, alert, event, produced_at from webhooks.alerts where endpoint_id = $1 order by created_at`,
    [endpointId],
  );
}

test('a streak starts at the first failure after the last success and counts failures and the last error', async () => {
  const id = await addEndpoint('streak-basics');
  await deliver(id, [[50, 'ok']]);
  assert.equal(await streak(id), null, 'an endpoint that only succeeds has no streak row at all');
  await deliver(id, [
    [40, 500],
    [30, 503],
  ]);
  await deliver(id, [[20, 502]]);
  const s = await streak(id);
  assert.equal(s!.failing_since!.getTime() <= Date.now() - 40 * MIN + 1000, true);
  assert.equal(s!.failing_since!.getTime() >= Date.now() - 40 * MIN - 5000, true);
  assert.equal(Number(s!.failed_attempts), 3);
  assert.equal(s!.last_error, 'HTTP 502');
});

test('a failed attempt of an endpoint that does not exist (deleted meanwhile) is logged and starts no streak, and its batch neighbours still count', async () => {
  const gone = randomUUID();
  const id = await addEndpoint('streak-neighbour');
  // Both in one flush: before migration 0013 the streak's foreign key refused the whole statement.
  await Promise.all([deliver(gone, [[10, 500]]), deliver(id, [[10, 500]])]);
  assert.equal((await q(`select 1 from webhooks.attempts where endpoint_id = $1`, [gone])).length, 1, 'the attempt row is kept');
  assert.equal(await streak(gone), null);
  assert.equal(Number((await streak(id))!.failed_attempts), 1);
});

test('a success newer than the streak start ends it; one older (recorded late) does not', async () => {
  const id = await addEndpoint('streak-ends');
  await deliver(id, [[30, 500]]);
  await deliver(id, [[40, 'ok']]);
  assert.notEqual((await streak(id))!.failing_since, null, 'a success from before the streak began leaves it open');
  await deliver(id, [[10, 'ok']]);
  const s = await streak(id);
  assert.equal(s!.failing_since, null);
  assert.equal(Number(s!.failed_attempts), 0);
  await deliver(id, [[5, 500]]);
  assert.ok((await streak(id))!.failing_since!.getTime() > Date.now() - 6 * MIN, 'the next failure starts a new streak');
});

test('an endpoint failing every attempt past AUTO_DISABLE_AFTER with enough dead deliveries is disabled, with its reason and a disabled alert', async () => {
  const id = await addEndpoint('always-500');
  await deliver(id, [[HOUR * 26, 'ok']]);
  await deliver(id, [[HOUR * 25, 500]], { dead: true });
  await deliver(id, [[HOUR * 2, 500]], { dead: true });
  const counts = { disabled: 0, produced: [] as string[] };
  await sweepFailingEndpoints(sweepOptions({}, counts), AbortSignal.timeout(30_000));
  const [ep] = await q<{ enabled: boolean; disabled_reason: string }>(
    `select enabled, disabled_reason from webhooks.endpoints where id = $1`,
    [id],
  );
  assert.equal(ep!.enabled, false);
  assert.match(
    ep!.disabled_reason,
    /^auto-disabled: every attempt failed since \d{4}-\d\d-\d\dT[\d:.]+Z \(2 dead deliveries\); last error: HTTP 500$/,
  );
  assert.equal(counts.disabled, 1);
  const alerts = await alertsOf(id);
  assert.deepEqual(
    alerts.map((a) => a.alert),
    ['webhook_endpoint_disabled'],
    'past both thresholds, only the disabled alert (it says what the failing one would)',
  );
  const data = alerts[0]!.event.data;
  assert.equal(data.alert, 'webhook_endpoint_disabled');
  assert.equal(data.endpoint_id, id);
  assert.equal(data.endpoint_name, 'always-500');
  assert.equal(data.reason, ep!.disabled_reason);
  assert.equal(data.last_error, 'HTTP 500');
  assert.equal(data.dead_deliveries, 2);
  assert.ok(alerts[0]!.produced_at instanceof Date, 'the broker acknowledged it');

  const onTopic = (await kafka.readAll(alertsTopic)).filter((m) => m.key === id);
  assert.equal(onTopic.length, 1);
  assert.equal(String(onTopic[0]!.headers['event-id']), alerts[0]!.id);
  const event = JSON.parse(onTopic[0]!.value!.toString()) as { event: string; timestamp: string; data: unknown };
  assert.equal(event.event, 'alert.triggered');
  assert.ok(!Number.isNaN(Date.parse(event.timestamp)));
  assert.deepEqual(event.data, data);
});

test('a success in between resets the streak: failing since before it does not count, so no disable', async () => {
  const id = await addEndpoint('recovered-once');
  await deliver(id, [[HOUR * 30, 500]], { dead: true });
  await deliver(id, [[HOUR * 29, 500]], { dead: true });
  await deliver(id, [[HOUR * 3, 'ok']]);
  await deliver(id, [[HOUR * 2, 500]], { dead: true });
  await deliver(id, [[HOUR * 2 - 1, 500]], { dead: true });
  const counts = { disabled: 0, produced: [] as string[] };
  await sweepFailingEndpoints(sweepOptions({}, counts), AbortSignal.timeout(30_000));
  const [ep] = await q<{ enabled: boolean }>(`select enabled from webhooks.endpoints where id = $1`, [id]);
  assert.equal(ep!.enabled, true, 'every attempt failed for 2 h only, not 24 h');
  assert.deepEqual(
    (await alertsOf(id)).map((a) => a.alert),
    ['webhook_endpoint_failing'],
    'failing for 2 h: past ALERT_FAILING_AFTER (1 h)',
  );
  await sweepFailingEndpoints(sweepOptions(), AbortSignal.timeout(30_000));
  assert.equal((await alertsOf(id)).length, 1, 'the failing alert goes out once per streak');
});

test('below AUTO_DISABLE_MIN_DEAD dead deliveries an endpoint failing for days stays enabled', async () => {
  const id = await addEndpoint('few-dead');
  await deliver(id, [[HOUR * 48, 500]], { dead: true });
  await deliver(id, [[HOUR * 47, 500]]);
  await sweepFailingEndpoints(sweepOptions(), AbortSignal.timeout(30_000));
  const [ep] = await q<{ enabled: boolean }>(`select enabled from webhooks.endpoints where id = $1`, [id]);
  assert.equal(ep!.enabled, true);
});

test('two dispatchers sweeping at once disable an endpoint once and queue one alert', async () => {
  const id = await addEndpoint('raced');
  await deliver(id, [[HOUR * 30, 500]], { dead: true });
  await deliver(id, [[HOUR * 29, 500]], { dead: true });
  const counts = { disabled: 0, produced: [] as string[] };
  await Promise.all(Array.from({ length: 4 }, () => sweepFailingEndpoints(sweepOptions({}, counts), AbortSignal.timeout(30_000))));
  assert.equal(counts.disabled, 1);
  assert.equal((await alertsOf(id)).length, 1);
  assert.equal((await kafka.readAll(alertsTopic)).filter((m) => m.key === id).length, 1);
});

test('enabling again starts a new streak, with its own failing alert', async () => {
  const id = await addEndpoint('re-enabled');
  await deliver(id, [[HOUR * 30, 500]], { dead: true });
  await deliver(id, [[HOUR * 29, 500]], { dead: true });
  await sweepFailingEndpoints(sweepOptions(), AbortSignal.timeout(30_000));
  assert.equal((await q(`select 1 from webhooks.endpoints where id = $1 and not enabled`, [id])).length, 1);
  await q(`update webhooks.endpoints set enabled = true where id = $1`, [id]);
  assert.equal(await streak(id), null, 'the old streak is forgotten');
  const [ep] = await q<{ disabled_reason: string | null }>(`select disabled_reason from webhooks.endpoints where id = $1`, [id]);
  assert.equal(ep!.disabled_reason, null);
  // Failing again, for 90 minutes since being enabled (attempt times are backdated).
  await deliver(id, [[90, 500]]);
  await sweepFailingEndpoints(sweepOptions(), AbortSignal.timeout(30_000));
  assert.deepEqual(
    (await alertsOf(id)).map((a) => a.alert),
    ['webhook_endpoint_disabled', 'webhook_endpoint_failing'],
  );
  assert.equal(
    (await q(`select 1 from webhooks.endpoints where id = $1 and enabled`, [id])).length,
    1,
    'the new streak has no dead deliveries yet',
  );
});

test('an alert queued but not produced (its dispatcher died) is produced by a later sweep under the same event id', async () => {
  const id = await addEndpoint('orphaned-alert');
  const eventId = randomUUID();
  const event = {
    event: 'alert.triggered',
    timestamp: new Date().toISOString(),
    data: { alert: 'webhook_endpoint_failing', endpoint_id: id },
  };
  await q(
    `insert into webhooks.alerts (id, alert, endpoint_id, event, claimed_at) values ($1, 'webhook_endpoint_failing', $2, $3, now() - interval '2 minutes')`,
    [eventId, id, JSON.stringify(event)],
  );
  await sweepFailingEndpoints(sweepOptions(), AbortSignal.timeout(30_000));
  const [row] = await alertsOf(id);
  assert.ok(row!.produced_at instanceof Date);
  const onTopic = (await kafka.readAll(alertsTopic)).filter((m) => m.key === id);
  assert.equal(onTopic.length, 1);
  assert.equal(String(onTopic[0]!.headers['event-id']), eventId);
});
