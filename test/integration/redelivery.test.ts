import assert from 'node:assert/strict';
import crypto, { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { IHeaders } from 'kafkajs';
import pino from 'pino';
import { Webhook } from 'standardwebhooks';
import { TopicProducer } from '../../src/kafka/topic-producer.ts';
import {
  REDELIVERIES_CHANNEL,
  RedeliveryWatcher,
  type RedeliveryWatcherEvents,
  type RedeliveryWatcherOptions,
} from '../../src/redelivery/redelivery-watcher.ts';
import { decodeTask, headerString } from '../../src/retry/retry-message.ts';
import type { Service } from '../../src/service.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { openTestKafka, uniqueName, type TestKafka } from '../support/kafka.ts';
import { waitFor, waitForEvent } from '../support/wait-for.ts';
import { TestReceiver, type ReceivedRequest } from '../support/receiver.ts';
import { startTestService, testEnv } from '../support/service.ts';

const silent = pino({ level: 'silent' });
const APP_PREFIX = `rw-${randomBytes(3).toString('hex')}`;
let appCounter = 0;

let kafka: TestKafka;

before(async () => {
  kafka = await openTestKafka('redelivery');
});

after(async () => {
  await kafka?.close();
});

/** The first `name` event satisfying `predicate` (the shared waitForEvent, with 10 s to wait). */
function nextEvent<K extends keyof RedeliveryWatcherEvents & string>(
  watcher: RedeliveryWatcher,
  name: K,
  predicate: (...args: RedeliveryWatcherEvents[K]) => boolean = () => true,
): Promise<RedeliveryWatcherEvents[K]> {
  return waitForEvent(watcher, name, predicate, 10_000);
}

/** What a receiver holding only `secret` concludes about a request, by both schemes. */
function verifies(req: ReceivedRequest, secret: string): { spec: boolean; standard: boolean } {
  const computed = crypto.createHmac('sha256', secret).update(req.body).digest('hex');
  const sig = String(req.headers['x-webhook-signature'] ?? '');
  const spec = computed.length === sig.length && crypto.timingSafeEqual(Buffer.from(computed), Buffer.from(sig));
  let standard = true;
  try {
    new Webhook(secret).verify(req.body, {
      'webhook-id': String(req.headers['webhook-id']),
      'webhook-timestamp': String(req.headers['webhook-timestamp']),
      'webhook-signature': String(req.headers['webhook-signature']),
    });
  } catch {
    standard = false;
  }
  return { spec, standard };
}

function callEnded(n: number): string {
  return JSON.stringify({
    event: 'call.ended',
    timestamp: new Date().toISOString(),
    data: { call_id: `c${n}`, agent: 'jsmith', phone_number: '5551234567', duration: 180, disposition: 'SALE', campaign: 'Q1-Sales' },
  });
}

describe('redelivery end to end through the dispatcher', () => {
  const SECRET = 'whsec_' + Buffer.alloc(32, 5).toString('base64');
  let db: TestDatabase;
  let receiver: TestReceiver;
  let service: Service;
  let watcher: RedeliveryWatcher;
  let input: string;
  const healthy = new Map<string, boolean>();

  /** A path that answers 500 until `healthy.set(path, true)`. */
  function switchable(path: string): string {
    healthy.set(path, false);
    return receiver.route(path, SECRET, () => (healthy.get(path) ? { status: 200 } : { status: 500, body: 'down for maintenance' }));
  }

  async function addEndpoint(name: string, url: string, secret = SECRET): Promise<string> {
    const row = await db.db
      .insertInto('webhooks.endpoints')
      .values({ name, url, secret, event_types: ['call.ended'] })
      .returning('id')
      .executeTakeFirstOrThrow();
    await waitFor(() => service.endpoints.get(row.id), { what: `endpoint ${name} in the dispatcher's index` });
    return row.id;
  }

  async function deliveriesOf(
    endpointId: string,
  ): Promise<Array<{ id: string; event_id: string; status: string; series: number; attempts: number }>> {
    const { rows } = await db.pool.query(
      `select id, event_id, status, series, attempts from webhooks.deliveries where endpoint_id = $1 order by event_id`,
      [endpointId],
    );
    return rows;
  }

  before(async () => {
    db = await createTestDatabase('redelivery');
    receiver = await TestReceiver.start();
    const env = testEnv(db.url, 'redelivery', { RETRY_DELAYS: '200ms,300ms,400ms' });
    input = env.INPUT_TOPICS!;
    service = await startTestService(env);
    // The service's own watcher: its periodic sweep is 30 s away, so what these tests see is
    // driven by NOTIFY.
    watcher = service.redeliveries;
  });

  after(async () => {
    await service?.stop();
    await receiver?.close();
    await db?.drop();
  });

  test('a dead delivery redelivered with webhooks.redeliver reaches the receiver again: same webhook-id, attempt 1, valid signatures, series 2', async () => {
    const endpointId = await addEndpoint('flaky', switchable('/flaky'));
    await kafka.produce(input, [{ key: 'k1', value: callEnded(1), headers: { 'event-id': 'evt-redeliver-1' } }]);
    const [dead] = await waitFor(
      async () => {
        const rows = await deliveriesOf(endpointId);
        return rows.length === 1 && rows[0]!.status === 'dead' ? rows : null;
      },
      { what: 'the delivery to die after four attempts', timeoutMs: 30_000 },
    );
    assert.equal(dead!.attempts, 4);
    assert.equal(dead!.series, 1);
    const failed = receiver.to('/flaky');
    assert.equal(failed.length, 4);

    healthy.set('/flaky', true);
    const queued = nextEvent(watcher, 'queued', (e) => e.deliveries.some((d) => d.deliveryId === dead!.id));
    await db.pool.query('select webhooks.redeliver($1)', [dead!.id]);
    const [{ reason, deliveries }] = await queued;
    assert.equal(reason, 'notify', 'woken by the NOTIFY, not by the (10 minute) sweep');
    assert.deepEqual(deliveries, [{ deliveryId: dead!.id, endpointId, eventType: 'call.ended', series: 2 }]);

    await receiver.waitFor((r) => r.filter((x) => x.path === '/flaky').length === 5, 20_000, 'the redelivered request');
    const again = receiver.to('/flaky')[4]!;
    assert.equal(again.headers['webhook-id'], dead!.id, 'the same delivery id');
    assert.equal(again.headers['webhook-id'], failed[0]!.headers['webhook-id']);
    assert.equal(again.headers['x-webhook-attempt'], '1', 'attempt 1 of the new series');
    assert.ok(again.specSignatureValid, 'X-Webhook-Signature verifies');
    assert.ok(again.standardSignatureValid, 'webhook-signature verifies');
    assert.ok(Number(again.headers['webhook-timestamp']) >= Math.floor(failed[3]!.at / 1000), 'signed afresh');
    assert.deepEqual(again.body, failed[0]!.body, 'the same body bytes');

    const settled = await waitFor(
      async () => {
        const [row] = await deliveriesOf(endpointId);
        return row?.status === 'succeeded' ? row : null;
      },
      { what: 'the redelivery to be recorded' },
    );
    assert.equal(settled.series, 2);
    assert.equal(settled.attempts, 1);
    const { rows: log } = await db.pool.query(
      `select series, attempt, outcome, status_code from webhooks.delivery_log where delivery_id = $1 order by series, attempt`,
      [dead!.id],
    );
    assert.deepEqual(
      log.map((r) => [r.series, r.attempt, r.outcome, r.status_code]),
      [
        [1, 1, 'failed', 500],
        [1, 2, 'failed', 500],
        [1, 3, 'failed', 500],
        [1, 4, 'failed', 500],
        [2, 1, 'succeeded', 200],
      ],
    );
  });

  test('recover requeues every dead delivery of an endpoint since a time, each with its own webhook-id', async () => {
    const endpointId = await addEndpoint('outage', switchable('/outage'));
    await kafka.produce(input, [{ value: callEnded(10), headers: { 'event-id': 'evt-outage-0' } }]);
    await waitFor(async () => (await deliveriesOf(endpointId)).some((d) => d.status === 'dead'), {
      what: 'an older dead delivery',
      timeoutMs: 30_000,
    });
    const { rows: sinceRows } = await db.pool.query<{ since: Date }>('select now() as since');
    const since = sinceRows[0]!.since;

    await kafka.produce(
      input,
      [1, 2, 3].map((n) => ({ key: `o${n}`, value: callEnded(10 + n), headers: { 'event-id': `evt-outage-${n}` } })),
    );
    const dead = await waitFor(
      async () => {
        const rows = await deliveriesOf(endpointId);
        return rows.length === 4 && rows.every((r) => r.status === 'dead') ? rows : null;
      },
      { what: 'four dead deliveries', timeoutMs: 30_000 },
    );
    const recent = dead.filter((d) => d.event_id !== 'evt-outage-0');
    assert.equal(receiver.to('/outage').length, 16);

    healthy.set('/outage', true);
    const { rows } = await db.pool.query<{ n: number }>('select webhooks.recover($1, $2) as n', [endpointId, since]);
    assert.equal(rows[0]!.n, 3);

    await receiver.waitFor((r) => r.filter((x) => x.path === '/outage').length === 19, 20_000, 'three redelivered requests');
    const resent = receiver.to('/outage').slice(16);
    assert.deepEqual(resent.map((r) => r.headers['webhook-id']).sort(), recent.map((d) => d.id).sort());
    for (const r of resent) {
      assert.equal(r.headers['x-webhook-attempt'], '1');
      assert.ok(r.specSignatureValid && r.standardSignatureValid);
    }
    const final = await waitFor(
      async () => {
        const rows = await deliveriesOf(endpointId);
        return rows.filter((r) => r.status === 'succeeded').length === 3 ? rows : null;
      },
      { what: 'three redeliveries recorded' },
    );
    for (const r of final) {
      if (r.event_id === 'evt-outage-0') assert.deepEqual([r.status, r.series], ['dead', 1], 'older than `since`: left alone');
      else assert.deepEqual([r.status, r.series, r.attempts], ['succeeded', 2, 1]);
    }
  });

  test('after rotate_secret receivers holding only the old or only the new secret both verify; after the overlap only the new', async () => {
    const oldSecret = 'whsec_' + Buffer.alloc(32, 11).toString('base64');
    const url = receiver.route('/rotating', oldSecret, 200);
    const endpointId = await addEndpoint('rotating', url, oldSecret);

    const rotate = async (overlap: string): Promise<string> => {
      const { rows } = await db.pool.query<{ secret: string }>('select webhooks.rotate_secret($1, $2::interval) as secret', [
        endpointId,
        overlap,
      ]);
      const secret = rows[0]!.secret;
      await waitFor(() => service.endpoints.get(endpointId)?.secret === secret, { what: "the rotation in the dispatcher's index" });
      return secret;
    };
    const deliverOne = async (n: number): Promise<ReceivedRequest> => {
      const count = receiver.to('/rotating').length;
      await kafka.produce(input, [{ value: callEnded(100 + n), headers: { 'event-id': `evt-rotate-${n}` } }]);
      await receiver.waitFor((r) => r.filter((x) => x.path === '/rotating').length > count, 20_000, 'a request at /rotating');
      return receiver.to('/rotating')[count]!;
    };

    const newSecret = await rotate('24 hours');
    const during = await deliverOne(1);
    assert.deepEqual(verifies(during, oldSecret), { spec: false, standard: true }, 'old secret: the Standard Webhooks signature verifies');
    assert.deepEqual(
      verifies(during, newSecret),
      { spec: true, standard: true },
      'new secret: both verify (X-Webhook-Signature uses the newest)',
    );
    assert.equal(String(during.headers['webhook-signature']).split(' ').length, 2, 'one v1 signature per valid secret');

    // A second rotation with a one-second overlap: once it has passed, only the newest verifies.
    const newest = await rotate('1 second');
    const { rows } = await db.pool.query<{ expires: Date }>(
      'select previous_secret_expires_at as expires from webhooks.endpoints where id = $1',
      [endpointId],
    );
    await waitFor(() => Date.now() > rows[0]!.expires.getTime() + 50, { what: 'the overlap to pass', timeoutMs: 5000 });
    const afterOverlap = await deliverOne(2);
    assert.deepEqual(verifies(afterOverlap, newest), { spec: true, standard: true });
    assert.deepEqual(verifies(afterOverlap, newSecret), { spec: false, standard: false }, 'the previous secret no longer verifies');
    assert.deepEqual(verifies(afterOverlap, oldSecret), { spec: false, standard: false });
    assert.equal(String(afterOverlap.headers['webhook-signature']).split(' ').length, 1);
  });
});

describe('RedeliveryWatcher', () => {
  let db: TestDatabase;
  let topic: string;
  let producer: TopicProducer;
  let endpointId: string;
  const watchers = new Set<RedeliveryWatcher>();

  function newWatcher(options: Partial<RedeliveryWatcherOptions> = {}): { watcher: RedeliveryWatcher; applicationName: string } {
    const applicationName = `${APP_PREFIX}-${++appCounter}`;
    const watcher = new RedeliveryWatcher({
      pool: db.pool,
      databaseUrl: db.url,
      producer,
      firstRetryTopic: topic,
      logger: silent,
      intervalMs: 600_000,
      applicationName,
      ...options,
    });
    watchers.add(watcher);
    return { watcher, applicationName };
  }

  /** Inserts `n` deliveries as webhooks.redeliver() leaves them: pending, series 2, with a body. */
  async function pendingRedeliveries(n: number, label: string): Promise<string[]> {
    const ids = Array.from({ length: n }, () => randomUUID());
    await db.pool.query(
      `insert into webhooks.deliveries (id, endpoint_id, event_id, event_type, event_timestamp, status, status_reason, series, attempts, payload, next_attempt_at)
       select id, $2, $3 || '-' || ord, 'call.ended', '2026-03-07T15:30:00Z', 'pending', 'redelivery requested', 2, 0,
              convert_to('{"event":"call.ended","n":' || ord || '}', 'UTF8'), now()
         from unnest($1::uuid[]) with ordinality as t(id, ord)`,
      [ids, endpointId, label],
    );
    return ids;
  }

  async function statuses(ids: string[]): Promise<Map<string, { status: string; status_reason: string }>> {
    const { rows } = await db.pool.query(`select id, status, status_reason from webhooks.deliveries where id = any($1::uuid[])`, [ids]);
    return new Map(rows.map((r) => [r.id, r]));
  }

  async function messagesFor(ids: string[]): Promise<Array<{ key: string | null; value: Buffer | null; headers: IHeaders }>> {
    const wanted = new Set(ids);
    return (await kafka.readAll(topic)).filter((m) => wanted.has(m.key ?? ''));
  }

  before(async () => {
    db = await createTestDatabase('redelivery_watcher');
    topic = uniqueName('redeliveries');
    await kafka.createTopic(topic, 3);
    producer = new TopicProducer(kafka.kafka);
    await producer.connect();
    const { rows } = await db.pool.query<{ id: string }>(
      `insert into webhooks.endpoints (name, url, event_types) values ('watched', 'https://example.com/hook', array['call.ended']) returning id`,
    );
    endpointId = rows[0]!.id;
  });

  after(async () => {
    try {
      await Promise.all([...watchers].map((w) => w.stop()));
      const { rows } = await db.pool.query<{ n: number }>(
        'select count(*)::int as n from pg_stat_activity where application_name like $1',
        [`${APP_PREFIX}%`],
      );
      assert.equal(rows[0]!.n, 0, 'a LISTEN connection was left open');
    } finally {
      await producer?.disconnect();
      await db?.drop();
    }
  });

  test('requests made while no watcher ran are claimed at start and produced as attempt 1 of their new series', async () => {
    const ids = await pendingRedeliveries(3, 'at-start');
    const { watcher } = newWatcher();
    const queued = nextEvent(watcher, 'queued');
    await watcher.start();
    const [{ reason, deliveries }] = await queued;
    assert.equal(reason, 'start');
    assert.deepEqual(deliveries.map((d) => d.deliveryId).sort(), [...ids].sort());

    const messages = await messagesFor(ids);
    assert.equal(messages.length, 3);
    for (const m of messages) {
      const task = decodeTask(m.value, m.headers);
      assert.ok(task);
      assert.equal(task.endpointId, endpointId);
      assert.equal(task.series, 2);
      assert.equal(task.attempt, 1);
      assert.equal(task.delayMs, 0);
      assert.ok(Math.abs(task.dueAtMs - Date.now()) < 30_000, 'due at once');
      assert.equal(task.eventType, 'call.ended');
      assert.equal(task.eventTimestampMs, Date.parse('2026-03-07T15:30:00Z'));
      assert.match(task.eventId, /^at-start-\d$/);
      assert.match(task.body.toString(), /^\{"event":"call.ended","n":\d\}$/);
      assert.equal(headerString(m.headers, 'redelivery'), 'true');
    }
    for (const s of (await statuses(ids)).values()) assert.deepEqual([s.status, s.status_reason], ['retrying', 'redelivery queued']);
    await watcher.stop();
  });

  test('two watchers sweeping at once hand each request to Kafka exactly once', async () => {
    const a = newWatcher({ batchSize: 7 }).watcher;
    const b = newWatcher({ batchSize: 7 }).watcher;
    await Promise.all([a.start(), b.start()]);
    const claimed: string[] = [];
    for (const w of [a, b]) w.on('queued', (e) => claimed.push(...e.deliveries.map((d) => d.deliveryId)));

    const ids = await pendingRedeliveries(60, 'race');
    await db.pool.query(`select pg_notify($1, 'test')`, [REDELIVERIES_CHANNEL]);
    await Promise.all([a.sweep(), b.sweep(), a.sweep(), b.sweep()]);
    await waitFor(() => claimed.length >= 60, { what: 'every request claimed' });

    assert.equal(claimed.length, 60, 'no request claimed twice');
    assert.deepEqual([...new Set(claimed)].sort(), [...ids].sort());
    const messages = await messagesFor(ids);
    assert.equal(messages.length, 60, 'one message per request');
    assert.equal(new Set(messages.map((m) => m.key)).size, 60);
    await Promise.all([a.stop(), b.stop()]);
  });

  test('when producing fails the claimed requests stay pending, and a later sweep sends them', async () => {
    const broken = new TopicProducer(kafka.kafka); // never connected: every send is refused
    const { watcher: failing } = newWatcher({ producer: broken });
    const failed = nextEvent(failing, 'sweepFailed');
    const ids = await pendingRedeliveries(4, 'kafka-down');
    await failing.start();
    const [{ error }] = await failed;
    assert.match(String(error), /producer is not connected/);
    for (const s of (await statuses(ids)).values())
      assert.deepEqual([s.status, s.status_reason], ['pending', 'redelivery requested'], 'rolled back');
    await failing.stop();

    const { watcher } = newWatcher();
    const queued = nextEvent(watcher, 'queued');
    await watcher.start();
    await queued;
    for (const s of (await statuses(ids)).values()) assert.equal(s.status, 'retrying');
    assert.equal((await messagesFor(ids)).length, 4);
    await watcher.stop();
  });

  test('reconnects after its LISTEN backend is terminated, sweeps, and hears requests again', async () => {
    const { watcher, applicationName } = newWatcher({ reconnectBackoff: { initialMs: 50, maxMs: 200 } });
    await watcher.start();
    assert.equal(watcher.listening, true);
    const lost = nextEvent(watcher, 'listenerError');
    const back = nextEvent(watcher, 'listenerConnected');
    const reconnectSweep = nextEvent(watcher, 'swept', (e) => e.reason === 'reconnect');
    const { rows } = await db.pool.query('select pg_terminate_backend(pid) as ok from pg_stat_activity where application_name = $1', [
      applicationName,
    ]);
    assert.deepEqual(rows, [{ ok: true }]);
    await lost;
    await back;
    await reconnectSweep;
    assert.equal(watcher.listening, true);

    const queued = nextEvent(watcher, 'queued', (e) => e.reason === 'notify');
    const [id] = await pendingRedeliveries(1, 'after-reconnect');
    await db.pool.query(`select pg_notify($1, $2)`, [REDELIVERIES_CHANNEL, id]);
    const [{ deliveries }] = await queued;
    assert.deepEqual(
      deliveries.map((d) => d.deliveryId),
      [id],
    );
    await watcher.stop();
  });

  test('the periodic sweep catches a request whose notification was lost', async () => {
    const { watcher } = newWatcher({ intervalMs: 200 });
    const startSweep = nextEvent(watcher, 'swept', (e) => e.reason === 'start');
    await watcher.start();
    await startSweep; // so the request below can only be found by a later sweep
    const queued = nextEvent(watcher, 'queued', (e) => e.reason === 'interval');
    const ids = await pendingRedeliveries(1, 'no-notify'); // inserted without NOTIFY
    const [{ deliveries }] = await queued;
    assert.deepEqual(
      deliveries.map((d) => d.deliveryId),
      ids,
    );
    await watcher.stop();
  });

  test('stop() can be called twice, closes the LISTEN connection, and start() rejects when Postgres is unreachable', async () => {
    const { watcher, applicationName } = newWatcher();
    await watcher.start();
    await Promise.all([watcher.stop(), watcher.stop()]);
    await watcher.stop();
    assert.equal(watcher.listening, false);
    const { rows } = await db.pool.query<{ n: number }>('select count(*)::int as n from pg_stat_activity where application_name = $1', [
      applicationName,
    ]);
    assert.equal(rows[0]!.n, 0);

    const unreachable = newWatcher({ databaseUrl: 'postgres://webhooks:webhooks@127.0.0.1:1/webhooks' }).watcher;
    await assert.rejects(unreachable.start(), /ECONNREFUSED/);
    await unreachable.stop();
  });
});
