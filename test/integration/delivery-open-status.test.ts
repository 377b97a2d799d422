import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import type pg from 'pg';
import { findFailingStreaks } from '../../src/endpoints/streak-queries.ts';
import { DeliveryClaims, type ClaimRequest } from '../../src/log/delivery-claims.ts';
import { claimRequest } from '../support/claim-request.ts';
import { FLUSH_SQL, flushParams, type LogRows } from '../../src/log/delivery-log-rows.ts';
import { REDELIVERY_CLAIM_SQL } from '../../src/redelivery/redelivery-claims.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

// Migration 0014: which deliveries are open is the generated column open_status, so no index of
// webhooks.deliveries names `status` and a first attempt's success updates its row in place (HOT).

let db: TestDatabase;
let endpointId: string;

before(async () => {
  db = await createTestDatabase('open_status');
  const { rows } = await db.pool.query<{ id: string }>(
    `insert into webhooks.endpoints (name, url, event_types, secret) values ('open-status', 'http://127.0.0.1:9/', array['call.ended'], $1) returning id`,
    ['whsec_' + Buffer.alloc(32, 7).toString('base64')],
  );
  endpointId = rows[0]!.id;
});

after(async () => {
  await db?.drop();
});

const signal = AbortSignal.timeout(30_000);

/** The log rows of a delivery's first attempt: a success, or a failure that leaves it `status`. */
function firstAttempt(r: ClaimRequest, status: 'succeeded' | 'retrying' | 'dead'): LogRows {
  const now = Date.now();
  const ok = status === 'succeeded';
  return {
    delivery: {
      deliveryId: r.deliveryId,
      endpointId,
      eventId: r.eventId,
      eventType: r.eventType,
      eventTimestampMs: r.eventTimestampMs,
      status,
      statusReason: ok ? null : 'HTTP 500',
      series: 1,
      attempts: 1,
      lastStatusCode: ok ? 200 : 500,
      lastError: ok ? null : 'HTTP 500',
      firstAttemptAtMs: now,
      lastAttemptAtMs: now,
      nextAttemptAtMs: status === 'retrying' ? now + 5000 : null,
      payload: ok ? null : Buffer.from('{"body":1}'),
      source: r.source,
    },
    attempt: {
      deliveryId: r.deliveryId,
      endpointId,
      series: 1,
      attempt: 1,
      startedAt: new Date(now),
      durationMs: 3,
      delayMs: null,
      dueAtMs: null,
      url: 'http://127.0.0.1:9/',
      outcome: ok ? 'succeeded' : 'failed',
      statusCode: ok ? 200 : 500,
      errorKind: ok ? null : 'http_status',
      error: ok ? null : 'HTTP 500',
      responseBody: null,
    },
  };
}

async function openStatus(client: Pick<pg.Pool, 'query'>, ids: string[]): Promise<Array<string | null>> {
  const { rows } = await client.query<{ id: string; open_status: string | null }>(
    'select id::text, open_status from webhooks.deliveries where id = any($1::uuid[])',
    [ids],
  );
  const by = new Map(rows.map((r) => [r.id, r.open_status]));
  return ids.map((id) => {
    assert.ok(by.has(id), `delivery ${id} exists`);
    return by.get(id)!;
  });
}

/** Rows of webhooks.deliveries this transaction updated, and how many of them in place (HOT). */
async function updatedInTransaction(client: pg.PoolClient): Promise<{ updated: number; hot: number }> {
  const { rows } = await client.query<{ updated: string; hot: string }>(
    `select pg_stat_get_xact_tuples_updated('webhooks.deliveries'::regclass) as updated,
            pg_stat_get_xact_tuples_hot_updated('webhooks.deliveries'::regclass) as hot`,
  );
  return { updated: Number(rows[0]!.updated), hot: Number(rows[0]!.hot) };
}

test('a claimed delivery is not open; its first success is a HOT update and leaves it not open, a failure opens it', async () => {
  const client = await db.pool.connect();
  try {
    await client.query('begin');
    const claims = new DeliveryClaims(client, { leaseMs: 60_000 });
    // As many as fit on half a page (fillfactor 50) with their updated versions, so every one can be HOT.
    const ok = Array.from({ length: 5 }, (_, i) => claimRequest(`hot-ok-${i}-${randomUUID()}`, `{"n":${i}}`, endpointId));
    const failed = [
      claimRequest(`hot-retrying-${randomUUID()}`, '{}', endpointId),
      claimRequest(`hot-dead-${randomUUID()}`, '{}', endpointId),
    ];
    const all = [...ok, ...failed];
    const outcomes = await claims.claim(all, signal);
    assert.ok(outcomes.every((o) => o.claimed));
    assert.deepEqual(
      await openStatus(
        client,
        all.map((r) => r.deliveryId),
      ),
      all.map(() => null),
      'a first attempt in flight is not open',
    );

    const before = await updatedInTransaction(client);
    await client.query(FLUSH_SQL, flushParams(ok.map((r) => firstAttempt(r, 'succeeded'))));
    const afterSuccess = await updatedInTransaction(client);
    assert.equal(afterSuccess.updated - before.updated, ok.length, 'every success updated its claimed row');
    assert.equal(afterSuccess.hot - before.hot, ok.length, 'and every one of those updates was HOT');

    await client.query(FLUSH_SQL, flushParams([firstAttempt(failed[0]!, 'retrying'), firstAttempt(failed[1]!, 'dead')]));
    const afterFailure = await updatedInTransaction(client);
    assert.equal(afterFailure.updated - afterSuccess.updated, 2);
    assert.equal(afterFailure.hot - afterSuccess.hot, 0, 'a delivery that becomes open is not a HOT update: its open_status is indexed');
    assert.deepEqual(
      await openStatus(
        client,
        all.map((r) => r.deliveryId),
      ),
      [...ok.map(() => null), 'retrying', 'dead'],
    );
    await client.query('commit');
  } catch (err) {
    await client.query('rollback');
    throw err;
  } finally {
    client.release();
  }
});

test('open_status follows every status: redelivery, the redelivery sweep, a cancellation and a success after failures', async () => {
  const q = (text: string, values: unknown[] = []) => db.pool.query(text, values);
  const id = randomUUID();
  await q(
    `insert into webhooks.deliveries (id, endpoint_id, event_id, event_type, status, attempts, payload, last_attempt_at)
     values ($1, $2, 'evt-open', 'call.ended', 'dead', 3, '\\x7b7d', now())`,
    [id, endpointId],
  );
  assert.deepEqual(await openStatus(db.pool, [id]), ['dead']);
  // A delivery parked behind an earlier one of its key (migration 0012 gives up its claim) is open.
  const parked = randomUUID();
  await q(
    `insert into webhooks.deliveries (id, endpoint_id, event_id, event_type, status, claimed_at, status_reason)
     values ($1, $2, 'evt-parked', 'call.ended', 'pending', null, 'parked: waits for an earlier delivery of its key')`,
    [parked, endpointId],
  );
  assert.deepEqual(await openStatus(db.pool, [parked]), ['pending']);
  // recover() asks again for what is dead (and has a body): pending with a body is open.
  const { rows: recovered } = await q(`select webhooks.recover($1, '-infinity') as n`, [endpointId]);
  assert.ok(recovered[0].n >= 1);
  assert.deepEqual(await openStatus(db.pool, [id]), ['pending']);
  // The redelivery sweep's claim finds it through open_status: pending → retrying (its Kafka side
  // is in redelivery.test.ts).
  const { rows: claimed } = await q(REDELIVERY_CLAIM_SQL, [100]);
  assert.ok(
    claimed.some((c) => c.id === id),
    'the redelivery sweep found it',
  );
  assert.ok(!claimed.some((c) => c.id === parked), 'and left the parked delivery (no stored body) to its key queue');
  assert.deepEqual(await openStatus(db.pool, [id]), ['retrying']);
  await q(`update webhooks.deliveries set status = 'succeeded', attempts = 1, series = series + 1 where id = $1`, [id]);
  assert.deepEqual(await openStatus(db.pool, [id]), [null], 'a success is not open, with its body kept');
  await q(`update webhooks.deliveries set status = 'cancelled' where id = $1`, [id]);
  assert.deepEqual(await openStatus(db.pool, [id]), ['cancelled']);
  await assert.rejects(
    q(`update webhooks.deliveries set open_status = 'dead' where id = $1`, [id]),
    /can only be updated to DEFAULT/,
    'only Postgres writes it',
  );
});

/** The plan of `sql` with sequential scans off: which index, if any, can serve it. */
async function plan(sql: string, values: unknown[]): Promise<string> {
  const client = await db.pool.connect();
  try {
    await client.query('begin');
    await client.query('set local enable_seqscan = off');
    const { rows } = await client.query<{ 'QUERY PLAN': string }>(`explain ${sql}`, values);
    return rows.map((r) => r['QUERY PLAN']).join('\n');
  } finally {
    await client.query('rollback');
    client.release();
  }
}

/** A pool that remembers the statements it was asked to run. */
function recording(pool: pg.Pool): { pool: pg.Pool; statements: Array<{ text: string; values: unknown[] }> } {
  const statements: Array<{ text: string; values: unknown[] }> = [];
  const spy = {
    query: (text: string, values: unknown[] = []) => {
      statements.push({ text, values });
      return pool.query(text, values);
    },
  };
  return { pool: spy as unknown as pg.Pool, statements };
}

test('the readers of open deliveries can use the open_status indexes', async () => {
  const health = await plan('select deliveries_dead, deliveries_retrying from webhooks.endpoint_health where endpoint_id = $1', [
    endpointId,
  ]);
  assert.match(health, /deliveries_endpoint_open/, health);

  const claimPlan = await plan(REDELIVERY_CLAIM_SQL, [100]);
  assert.match(claimPlan, /deliveries_open_status/, claimPlan);

  await db.pool.query(
    `insert into webhooks.failing_streaks (endpoint_id, failing_since, last_failure_at, failed_attempts) values ($1, now() - interval '1 hour', now(), 3)
     on conflict (endpoint_id) do update set failing_since = excluded.failing_since`,
    [endpointId],
  );
  const streaks = recording(db.pool);
  await findFailingStreaks(streaks.pool, 0);
  const dead = streaks.statements[0]!;
  const deadPlan = await plan(dead.text, dead.values);
  assert.match(deadPlan, /deliveries_endpoint_open/, deadPlan);
});
