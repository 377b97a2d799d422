import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, beforeEach, describe, test } from 'node:test';
import pg from 'pg';
import pino from 'pino';
import { signingSecrets } from '../../src/endpoints/endpoint.ts';
import { findEndpointById } from '../../src/endpoints/endpoint-store.ts';
import { DeliveryLogWriter, type AttemptRecord, type DeliveryRecord } from '../../src/log/delivery-log-writer.ts';
import { createTestDatabase, dbError, type TestDatabase } from '../support/database.ts';
import { waitFor } from '../support/wait-for.ts';

// The views and functions of migration 0002 over a delivery history written by the service's own
// log writer, with attempt times chosen so each time window of endpoint_health is exercised.

let db: TestDatabase;
let writer: DeliveryLogWriter;
const silent = pino({ level: 'silent' });
const MIN = 60_000;

before(async () => {
  db = await createTestDatabase('admin_sql');
  writer = new DeliveryLogWriter({ pool: db.pool, logger: silent, batchSize: 100, flushIntervalMs: 1 });
});

after(async () => {
  await writer?.close();
  await db?.drop();
});

async function q<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<R[]> {
  return (await db.pool.query<R>(text, values)).rows;
}

async function addEndpoint(name: string, options: { enabled?: boolean; disabledReason?: string; secret?: string } = {}): Promise<string> {
  const [row] = await q<{ id: string }>(
    `insert into webhooks.endpoints (name, url, event_types, enabled, disabled_reason, secret)
     values ($1, $2, array['call.ended'], $3, $4, coalesce($5, webhooks.generate_secret())) returning id`,
    [name, `https://example.com/hooks/${name}`, options.enabled ?? true, options.disabledReason ?? null, options.secret ?? null],
  );
  return row!.id;
}

interface AttemptSpec {
  minutesAgo: number;
  outcome: AttemptRecord['outcome'];
  statusCode?: number | null;
  errorKind?: string | null;
  error?: string | null;
  responseBody?: string | null;
  delayMs?: number | null;
  series?: number;
  durationMs?: number;
}

/** Writes a delivery's attempts one by one through the real log writer, then its final state. */
async function writeDelivery(
  endpointId: string,
  eventId: string,
  final: { status: DeliveryRecord['status']; statusReason?: string | null; payload?: Buffer | null; series?: number; attempts?: number },
  attempts: AttemptSpec[],
): Promise<string> {
  const deliveryId = randomUUID();
  const now = Date.now();
  const base = {
    deliveryId,
    endpointId,
    eventId,
    eventType: 'call.ended',
    eventTimestampMs: now - 60 * MIN * 40,
    source: null,
  };
  let n = 0;
  for (const a of attempts) {
    n += 1;
    const startedAt = new Date(now - a.minutesAgo * MIN);
    const attempt: AttemptRecord = {
      deliveryId,
      endpointId,
      series: a.series ?? 1,
      attempt: n,
      startedAt,
      durationMs: a.durationMs ?? 40 + n,
      delayMs: a.delayMs ?? null,
      dueAtMs: a.delayMs == null ? null : startedAt.getTime(),
      url: `https://example.com/hooks/${endpointId}`,
      outcome: a.outcome,
      statusCode: a.statusCode ?? null,
      errorKind: a.errorKind ?? null,
      error: a.error ?? null,
      responseBody: a.responseBody ?? null,
    };
    const last = n === attempts.length;
    await writer.record(
      {
        ...base,
        status: last ? final.status : 'retrying',
        statusReason: last ? (final.statusReason ?? null) : attempt.error,
        series: last ? (final.series ?? attempt.series) : attempt.series,
        attempts: last ? (final.attempts ?? n) : n,
        lastStatusCode: attempt.statusCode,
        lastError: attempt.error,
        firstAttemptAtMs: now - attempts[0]!.minutesAgo * MIN,
        lastAttemptAtMs: startedAt.getTime(),
        nextAttemptAtMs: null,
        payload:
          last && final.payload !== undefined ? final.payload : n === 1 ? Buffer.from(`{"event":"call.ended","n":"${eventId}"}`) : null,
      },
      attempt,
    );
  }
  if (attempts.length === 0) {
    await writer.record(
      {
        ...base,
        status: final.status,
        statusReason: final.statusReason ?? null,
        series: final.series ?? 1,
        attempts: final.attempts ?? 0,
        lastStatusCode: null,
        lastError: null,
        firstAttemptAtMs: null,
        lastAttemptAtMs: null,
        nextAttemptAtMs: null,
        payload: final.payload ?? null,
      },
      null,
    );
  }
  return deliveryId;
}

/** A connection of its own that collects notifications and notices. */
async function listener(channel: string): Promise<{ client: pg.Client; notifications: pg.Notification[]; notices: string[] }> {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  const notifications: pg.Notification[] = [];
  const notices: string[] = [];
  client.on('notification', (n) => notifications.push(n));
  client.on('notice', (n) => notices.push(n.message ?? ''));
  await client.query(`listen ${channel}`);
  return { client, notifications, notices };
}

describe('the views', () => {
  let alpha: string;
  let beta: string;
  const ids: Record<string, string> = {};
  const longBody = 'x'.repeat(1000);

  before(async () => {
    alpha = await addEndpoint('alpha');
    beta = await addEndpoint('beta', { enabled: false, disabledReason: 'paused for maintenance' });
    // a1: failed once 20 minutes ago, succeeded on the retry 19 minutes ago.
    ids.a1 = await writeDelivery(alpha, 'evt-a1', { status: 'succeeded' }, [
      { minutesAgo: 20, outcome: 'failed', statusCode: 500, errorKind: 'http_status', error: 'HTTP 500', responseBody: longBody },
      { minutesAgo: 19, outcome: 'succeeded', statusCode: 200, responseBody: 'ok', delayMs: 5000 },
    ]);
    // a2: dead after a timeout and a 503, three hours ago.
    ids.a2 = await writeDelivery(alpha, 'evt-a2', { status: 'dead', statusReason: 'failed 2 attempts' }, [
      { minutesAgo: 181, outcome: 'failed', errorKind: 'timeout', error: 'timed out after 10000 ms' },
      { minutesAgo: 180, outcome: 'failed', statusCode: 503, errorKind: 'http_status', error: 'HTTP 503', delayMs: 5000 },
    ]);
    // a3: failed 30 hours ago (outside the day window), still retrying.
    ids.a3 = await writeDelivery(alpha, 'evt-a3', { status: 'retrying' }, [
      { minutesAgo: 30 * 60, outcome: 'failed', statusCode: 502, errorKind: 'http_status', error: 'HTTP 502' },
    ]);
    // a4: cancelled 10 minutes ago (no request was made: not an attempt in the ratios).
    ids.a4 = await writeDelivery(alpha, 'evt-a4', { status: 'cancelled', statusReason: 'endpoint disabled' }, [
      { minutesAgo: 10, outcome: 'cancelled', errorKind: 'cancelled', error: 'endpoint disabled', durationMs: 0 },
    ]);
    // a5: failed two hours ago, then redelivered.
    ids.a5 = await writeDelivery(alpha, 'evt-a5', { status: 'dead', statusReason: 'failed 1 attempts' }, [
      { minutesAgo: 120, outcome: 'failed', statusCode: 404, errorKind: 'http_status', error: 'HTTP 404', responseBody: 'no such hook' },
    ]);
    await writer.flush();
    // a5 is then redelivered: pending, waiting for the watcher.
    await q('select webhooks.redeliver($1)', [ids.a5]);
  });

  test('delivery_log has one row per attempt with endpoint, event, outcome, error, delays and the delivery status', async () => {
    const rows = await q(`select * from webhooks.delivery_log where endpoint_id = $1 order by attempted_at`, [alpha]);
    assert.equal(rows.length, 7);
    assert.deepEqual(Object.keys(rows[0]!), [
      'attempted_at',
      'endpoint_name',
      'endpoint_id',
      'event_type',
      'event_id',
      'delivery_id',
      'series',
      'attempt',
      'outcome',
      'status_code',
      'error_kind',
      'error',
      'duration_ms',
      'delay_ms',
      'due_at',
      'url',
      'response_excerpt',
      'delivery_status',
      'delivery_status_reason',
      'traceparent',
    ]);
    const a1 = rows.filter((r) => r.delivery_id === ids.a1);
    assert.equal(a1.length, 2);
    assert.deepEqual(
      a1.map((r) => [
        r.endpoint_name,
        r.event_type,
        r.event_id,
        r.series,
        r.attempt,
        r.outcome,
        r.status_code,
        r.error_kind,
        r.error,
        r.delay_ms,
        r.delivery_status,
      ]),
      [
        ['alpha', 'call.ended', 'evt-a1', 1, 1, 'failed', 500, 'http_status', 'HTTP 500', null, 'succeeded'],
        ['alpha', 'call.ended', 'evt-a1', 1, 2, 'succeeded', 200, null, null, 5000, 'succeeded'],
      ],
    );
    assert.equal(a1[0]!.response_excerpt, 'x'.repeat(300), 'the excerpt is the first 300 characters');
    assert.equal(a1[1]!.response_excerpt, 'ok');
    assert.equal(a1[0]!.duration_ms, 41);
    const a2 = rows.filter((r) => r.delivery_id === ids.a2);
    assert.deepEqual(
      a2.map((r) => [r.error_kind, r.error, r.status_code, r.delivery_status, r.delivery_status_reason]),
      [
        ['timeout', 'timed out after 10000 ms', null, 'dead', 'failed 2 attempts'],
        ['http_status', 'HTTP 503', 503, 'dead', 'failed 2 attempts'],
      ],
    );
    const a5 = rows.find((r) => r.delivery_id === ids.a5)!;
    assert.equal(a5.delivery_status, 'pending', 'the current status of the delivery, after the redelivery request');
    assert.equal(a5.delivery_status_reason, 'redelivery requested');
    assert.equal(a5.series, 1, 'the attempt keeps the series it was made in');
    assert.equal(rows.find((r) => r.delivery_id === ids.a4)!.outcome, 'cancelled');
    // The endpoint's current name is shown.
    await q(`update webhooks.endpoints set name = 'alpha-renamed' where id = $1`, [alpha]);
    const [renamed] = await q(`select endpoint_name from webhooks.delivery_log where delivery_id = $1 limit 1`, [ids.a1]);
    assert.equal(renamed!.endpoint_name, 'alpha-renamed');
    await q(`update webhooks.endpoints set name = 'alpha' where id = $1`, [alpha]);
  });

  test('endpoint_health gives last success and failure, attempts and ratios per hour and day, dead and waiting deliveries', async () => {
    const rows = await q(`select * from webhooks.endpoint_health where endpoint_id in ($1, $2) order by name`, [alpha, beta]);
    assert.equal(rows.length, 2, 'every endpoint, enabled or not');
    const [a, b] = rows as [Record<string, unknown>, Record<string, unknown>];
    const [times] = await q<{ success: Date; failure: Date }>(
      `select (select started_at from webhooks.attempts where delivery_id = $1 and attempt = 2) as success,
              (select started_at from webhooks.attempts where delivery_id = $1 and attempt = 1) as failure`,
      [ids.a1],
    );
    assert.equal(a.name, 'alpha');
    assert.equal(a.enabled, true);
    assert.deepEqual(a.last_success_at, times!.success);
    assert.deepEqual(a.last_failure_at, times!.failure, "a1's first attempt: the newest failure (a later cancellation is not one)");
    assert.equal(a.last_failure_status_code, 500);
    assert.equal(a.last_failure_error, 'HTTP 500');
    // Last hour: a1's two attempts (the cancellation is left out). Last 24 hours: a1 ×2, a2 ×2, a5.
    assert.equal(a.attempts_1h, 2);
    assert.equal(a.success_ratio_1h, '0.500');
    assert.equal(a.attempts_24h, 5);
    assert.equal(a.success_ratio_24h, '0.200');
    assert.equal(a.deliveries_dead, 1, 'a2 (a5 was redelivered)');
    assert.equal(a.deliveries_retrying, 2, 'a3 retrying and a5 pending');

    assert.equal(b.name, 'beta');
    assert.equal(b.enabled, false);
    assert.equal(b.disabled_reason, 'paused for maintenance');
    for (const k of ['last_success_at', 'last_failure_at', 'last_failure_error', 'success_ratio_1h', 'success_ratio_24h'])
      assert.equal(b[k], null, k);
    for (const k of ['attempts_1h', 'attempts_24h', 'deliveries_dead', 'deliveries_retrying']) assert.equal(b[k], 0, k);
  });
});

describe('rotate_secret', () => {
  test('sets a generated secret, keeps the old one until now() + overlap, returns the new one and notifies', async () => {
    const old = 'whsec_' + Buffer.alloc(32, 3).toString('base64');
    const id = await addEndpoint('rotating', { secret: old });
    const l = await listener('webhooks_endpoints_changed');
    try {
      const [row] = await q<{ secret: string; before: Date; after: Date }>(
        `select clock_timestamp() as before, webhooks.rotate_secret($1) as secret, clock_timestamp() as after`,
        [id],
      );
      const fresh = row!.secret;
      assert.match(fresh, /^whsec_[A-Za-z0-9+/]{43}=$/);
      assert.equal(Buffer.from(fresh.slice(6), 'base64').length, 32);
      assert.notEqual(fresh, old);
      const [stored] = await q<{ secret: string; previous_secret: string; expires: Date; now: Date }>(
        `select secret, previous_secret, previous_secret_expires_at as expires, now() from webhooks.endpoints where id = $1`,
        [id],
      );
      assert.equal(stored!.secret, fresh);
      assert.equal(stored!.previous_secret, old);
      const overlapMs = stored!.expires.getTime() - row!.before.getTime();
      assert.ok(
        overlapMs >= 24 * 3_600_000 - 1000 && overlapMs <= 24 * 3_600_000 + 1000,
        `default overlap is 24 hours, got ${overlapMs} ms`,
      );
      await waitFor(() => l.notifications.some((n) => n.channel === 'webhooks_endpoints_changed'), {
        what: 'the endpoints NOTIFY',
        timeoutMs: 5000,
        intervalMs: 20,
      });

      // What the dispatcher reads: both secrets sign during the overlap, the new one first.
      const endpoint = (await findEndpointById(db.db, id))!;
      assert.deepEqual(signingSecrets(endpoint, Date.now()), [fresh, old]);
      assert.deepEqual(signingSecrets(endpoint, stored!.expires.getTime()), [fresh]);

      // A second rotation, with a short overlap: the oldest secret is gone, the one before is previous.
      const [second] = await q<{ secret: string }>(`select webhooks.rotate_secret($1, interval '1 second') as secret`, [id]);
      const [again] = await q<{ secret: string; previous_secret: string; left: number }>(
        `select secret, previous_secret, extract(epoch from previous_secret_expires_at - now())::float8 as left from webhooks.endpoints where id = $1`,
        [id],
      );
      assert.equal(again!.secret, second!.secret);
      assert.equal(again!.previous_secret, fresh);
      assert.ok(again!.left > 0.5 && again!.left <= 1, `overlap of one second, ${again!.left} s left`);

      // Overlap 0: the old secret is no longer signed with.
      await q(`select webhooks.rotate_secret($1, interval '0')`, [id]);
      const ended = (await findEndpointById(db.db, id))!;
      assert.deepEqual(signingSecrets(ended, Date.now()), [ended.secret]);
    } finally {
      await l.client.end();
    }
  });

  test('rejects a negative overlap', async () => {
    const id = await addEndpoint('rotating-negative');
    const err = await dbError(q(`select webhooks.rotate_secret($1, interval '-1 hour')`, [id]));
    assert.equal(err.code, '22023');
    assert.match(err.message, /overlap must be zero or positive/);
    assert.match(err.hint ?? '', /24 hours/);
  });
});

describe('unknown ids', () => {
  const unknown = '00000000-0000-4000-8000-000000000000';

  test('rotate_secret, redeliver and recover say which id is unknown (no_data_found) and where ids are found', async () => {
    for (const [call, what] of [
      [`select webhooks.rotate_secret($1)`, /no endpoint with id 00000000-0000-4000-8000-000000000000/],
      [`select webhooks.redeliver($1)`, /no delivery with id 00000000-0000-4000-8000-000000000000/],
      [`select webhooks.recover($1, now() - interval '1 day')`, /no endpoint with id 00000000-0000-4000-8000-000000000000/],
    ] as const) {
      const err = await dbError(q(call, [unknown]));
      assert.equal(err.code, 'P0002', call);
      assert.match(err.message, what);
      assert.match(err.hint ?? '', /select .*webhooks\./, `${call}: the hint shows a query that finds ids`);
    }
  });

  test('a null since is refused with a hint', async () => {
    const id = await addEndpoint('null-since');
    const err = await dbError(q(`select webhooks.recover($1, null)`, [id]));
    assert.equal(err.code, '22004');
    assert.match(err.hint ?? '', /-infinity/);
  });
});

describe('redeliver', () => {
  let endpoint: string;
  let l: Awaited<ReturnType<typeof listener>>;

  before(async () => {
    endpoint = await addEndpoint('redeliver-target');
    l = await listener('webhooks_redeliveries');
  });
  after(() => l.client.end());
  beforeEach(() => {
    l.notifications.length = 0;
    l.notices.length = 0;
  });

  async function delivery(id: string): Promise<Record<string, unknown>> {
    const [row] = await q(
      `select *, extract(epoch from now() - next_attempt_at)::float8 as due_ago from webhooks.deliveries where id = $1`,
      [id],
    );
    return row!;
  }

  test('starts a new series for dead, cancelled and failing deliveries, and notifies the dispatchers', async () => {
    const dead = await writeDelivery(endpoint, 'r-dead', { status: 'dead' }, [
      { minutesAgo: 5, outcome: 'failed', statusCode: 500, errorKind: 'http_status', error: 'HTTP 500' },
      { minutesAgo: 4, outcome: 'failed', statusCode: 500, errorKind: 'http_status', error: 'HTTP 500', delayMs: 5000 },
    ]);
    const cancelled = await writeDelivery(endpoint, 'r-cancelled', { status: 'cancelled', attempts: 1 }, [
      { minutesAgo: 5, outcome: 'failed', statusCode: 500, errorKind: 'http_status', error: 'HTTP 500' },
      { minutesAgo: 4, outcome: 'cancelled', errorKind: 'cancelled', error: 'endpoint disabled' },
    ]);
    const failing = await writeDelivery(endpoint, 'r-failing', { status: 'retrying' }, [
      { minutesAgo: 1, outcome: 'failed', statusCode: 503, errorKind: 'http_status', error: 'HTTP 503' },
    ]);
    await writer.flush();
    for (const id of [dead, cancelled, failing]) {
      const before = await delivery(id);
      const [r] = await q<{ id: string }>(`select webhooks.redeliver($1) as id`, [id]);
      assert.equal(r!.id, id, 'returns the delivery id');
      const after = await delivery(id);
      assert.equal(after.status, 'pending');
      assert.equal(after.status_reason, 'redelivery requested');
      assert.equal(after.series, (before.series as number) + 1);
      assert.equal(after.attempts, 0);
      assert.equal(after.first_attempt_at, null, 'first_attempt_at describes the new series');
      assert.ok((after.due_ago as number) >= 0 && (after.due_ago as number) < 5, 'due now');
      assert.deepEqual(after.payload, before.payload, 'the stored body is kept');
      assert.equal(after.last_error, before.last_error, 'the last error stays visible until the next attempt');
    }
    await waitFor(() => l.notifications.length === 3, { what: 'three notifications', timeoutMs: 5000, intervalMs: 20 });
    assert.deepEqual(
      l.notifications.map((n) => [n.channel, n.payload]),
      [dead, cancelled, failing].map((id) => ['webhooks_redeliveries', id]),
    );
  });

  test('refuses a succeeded delivery unless forced', async () => {
    const id = await writeDelivery(endpoint, 'r-succeeded', { status: 'succeeded' }, [
      { minutesAgo: 3, outcome: 'failed', statusCode: 500, errorKind: 'http_status', error: 'HTTP 500' },
      { minutesAgo: 2, outcome: 'succeeded', statusCode: 200, delayMs: 5000 },
    ]);
    await writer.flush();
    const err = await dbError(q(`select webhooks.redeliver($1)`, [id]));
    assert.equal(err.code, '55000');
    assert.match(err.message, /already succeeded/);
    assert.match(err.hint ?? '', /force => true/);
    assert.equal((await delivery(id)).status, 'succeeded', 'nothing changed');

    await q(`select webhooks.redeliver($1, force => true)`, [id]);
    const forced = await delivery(id);
    assert.equal(forced.status, 'pending');
    assert.equal(forced.series, 2);
  });

  test('refuses a delivery without a stored body, saying why', async () => {
    const id = await writeDelivery(endpoint, 'r-nobody', { status: 'succeeded', payload: null }, [
      { minutesAgo: 1, outcome: 'succeeded', statusCode: 200 },
    ]);
    await writer.flush();
    await q(`update webhooks.deliveries set payload = null where id = $1`, [id]);
    const err = await dbError(q(`select webhooks.redeliver($1, force => true)`, [id]));
    assert.equal(err.code, '55000');
    assert.match(err.message, /has no stored body to send again/);
    assert.match(err.hint ?? '', /Only deliveries that failed at least once keep their body/);
    assert.equal((await delivery(id)).series, 1);
    assert.ok(!l.notifications.some((n) => n.payload === id), 'no redelivery was requested');
  });

  test('a delivery already waiting for its first attempt is left alone', async () => {
    const id = await writeDelivery(endpoint, 'r-waiting', { status: 'dead' }, [
      { minutesAgo: 1, outcome: 'failed', statusCode: 500, errorKind: 'http_status', error: 'HTTP 500' },
    ]);
    await writer.flush();
    await q(`select webhooks.redeliver($1)`, [id]);
    const { rows } = await l.client.query<{ id: string }>(`select webhooks.redeliver($1) as id`, [id]);
    assert.equal(rows[0]!.id, id);
    assert.equal((await delivery(id)).series, 2, 'no second new series');
    assert.ok(
      l.notices.some((n) => /is already waiting for its next attempt \(status pending, redelivery requested\)/.test(n)),
      l.notices.join('\n'),
    );
  });

  test('refuses when the endpoint is disabled, naming the fix', async () => {
    const off = await addEndpoint('redeliver-disabled');
    const id = await writeDelivery(off, 'r-off', { status: 'dead' }, [
      { minutesAgo: 1, outcome: 'failed', statusCode: 500, errorKind: 'http_status', error: 'HTTP 500' },
    ]);
    await writer.flush();
    await q(`update webhooks.endpoints set enabled = false, disabled_reason = '410 Gone' where id = $1`, [off]);
    for (const call of [
      `select webhooks.redeliver($1)`,
      `select webhooks.recover((select endpoint_id from webhooks.deliveries where id = $1), '-infinity')`,
    ]) {
      const err = await dbError(q(call, [id]));
      assert.equal(err.code, '55000');
      assert.match(err.message, /endpoint "redeliver-disabled" is disabled \(410 Gone\)/);
      assert.match(err.hint ?? '', /update webhooks\.endpoints set enabled = true where name = 'redeliver-disabled'/);
    }
    assert.equal((await delivery(id)).status, 'dead');
  });
});

describe('recover', () => {
  test('requests every dead, cancelled or failing delivery of the endpoint since the time, and nothing else', async () => {
    const target = await addEndpoint('recover-target');
    const other = await addEndpoint('recover-other');
    const fail = (minutesAgo: number): AttemptSpec => ({
      minutesAgo,
      outcome: 'failed',
      statusCode: 500,
      errorKind: 'http_status',
      error: 'HTTP 500',
    });
    const want = [
      await writeDelivery(target, 'v-dead', { status: 'dead' }, [fail(30), fail(29)]),
      await writeDelivery(target, 'v-cancelled', { status: 'cancelled', attempts: 1 }, [
        fail(20),
        { minutesAgo: 19, outcome: 'cancelled', errorKind: 'cancelled' },
      ]),
      await writeDelivery(target, 'v-failing', { status: 'retrying' }, [fail(10)]),
    ];
    const keep = [
      await writeDelivery(target, 'v-old', { status: 'dead' }, [fail(120)]),
      await writeDelivery(target, 'v-ok', { status: 'succeeded' }, [fail(9), { minutesAgo: 8, outcome: 'succeeded', statusCode: 200 }]),
      await writeDelivery(target, 'v-deferred', { status: 'retrying', statusReason: 'deferred: endpoint saturated', attempts: 0 }, []),
      await writeDelivery(other, 'v-other', { status: 'dead' }, [fail(5)]),
    ];
    const noBody = await writeDelivery(target, 'v-nobody', { status: 'dead' }, [fail(7)]);
    await writer.flush();
    await q(`update webhooks.deliveries set payload = null where id = $1`, [noBody]);
    const before = new Map(
      (await q<{ id: string; status: string; series: number }>(`select id, status, series from webhooks.deliveries`)).map((r) => [r.id, r]),
    );

    const l = await listener('webhooks_redeliveries');
    try {
      const { rows } = await l.client.query<{ n: number }>(`select webhooks.recover($1, now() - interval '1 hour') as n`, [target]);
      assert.equal(rows[0]!.n, 3);
      assert.ok(
        l.notices.some((n) => /1 failed deliveries of "recover-target" have no stored body and were skipped/.test(n)),
        l.notices.join('\n'),
      );
      await waitFor(() => l.notifications.length === 1, { what: 'one notification for the whole batch', timeoutMs: 5000, intervalMs: 20 });
      assert.equal(l.notifications[0]!.payload, target);
    } finally {
      await l.client.end();
    }
    const after = new Map(
      (
        await q<{ id: string; status: string; series: number; status_reason: string }>(
          `select id, status, series, status_reason from webhooks.deliveries`,
        )
      ).map((r) => [r.id, r]),
    );
    for (const id of want) {
      assert.equal(after.get(id)!.status, 'pending');
      assert.equal(after.get(id)!.series, before.get(id)!.series + 1);
      assert.equal(after.get(id)!.status_reason, 'redelivery requested');
    }
    for (const id of [...keep, noBody]) assert.deepEqual(after.get(id)!.status, before.get(id)!.status, `unchanged: ${id}`);

    const [again] = await q<{ n: number }>(`select webhooks.recover($1, '-infinity') as n`, [target]);
    assert.equal(again!.n, 1, "a second call finds only what the first one's `since` left out (v-old)");
  });
});
