import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { after, before, test } from 'node:test';
import pg from 'pg';
import pino from 'pino';
import { openDatabase } from '../../src/db/database.ts';
import { sqlState } from '../../src/db/pg-errors.ts';
import { DeliveryLogWriter, LogWriterClosedError, type AttemptRecord, type DeliveryRecord } from '../../src/log/delivery-log-writer.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { waitFor } from '../support/wait-for.ts';

let db: TestDatabase;
const logger = pino({ level: 'silent' });

before(async () => {
  db = await createTestDatabase('bad_rows');
});

after(async () => {
  await db?.drop();
});

function delivery(overrides: Partial<DeliveryRecord> = {}): DeliveryRecord {
  const now = Date.now();
  return {
    deliveryId: randomUUID(),
    endpointId: randomUUID(),
    eventId: `evt-${randomUUID()}`,
    eventType: 'call.ended',
    eventTimestampMs: now,
    status: 'succeeded',
    statusReason: null,
    series: 1,
    attempts: 1,
    lastStatusCode: 200,
    lastError: null,
    firstAttemptAtMs: now,
    lastAttemptAtMs: now,
    nextAttemptAtMs: null,
    payload: null,
    source: null,
    ...overrides,
  };
}

function attemptOf(d: DeliveryRecord, overrides: Partial<AttemptRecord> = {}): AttemptRecord {
  return {
    deliveryId: d.deliveryId,
    endpointId: d.endpointId,
    series: d.series,
    attempt: d.attempts,
    startedAt: new Date(),
    durationMs: 12,
    delayMs: null,
    dueAtMs: null,
    url: 'http://127.0.0.1:9/hook',
    outcome: 'failed',
    statusCode: 500,
    errorKind: 'http_status',
    error: 'HTTP 500',
    responseBody: 'oops',
    ...overrides,
  };
}

function writer(pool: pg.Pool, events: { errors?: unknown[] } = {}): DeliveryLogWriter {
  return new DeliveryLogWriter({ pool, logger, batchSize: 100, flushIntervalMs: 5, onFlushError: (e) => events.errors?.push(e) });
}

async function stored(id: string): Promise<{ event_id: string; last_error: string | null; source_offset: number | null } | undefined> {
  const { rows } = await db.pool.query('select event_id, last_error, source_offset from webhooks.deliveries where id = $1', [id]);
  return rows[0];
}

test('one batch with NUL bytes, lone surrogates and rows Postgres refuses: every good row is written and no record hangs', async () => {
  const w = writer(db.pool);
  const good = [delivery(), delivery(), delivery()];
  const nul = delivery({ eventId: 'evt\u0000nul', statusReason: 'a\u0000b' });
  const surrogate = delivery({ status: 'retrying', lastError: 'broken \uD800 pair', lastStatusCode: 500 });
  // Refused for its data, stored once its bad field is replaced.
  const badOffset = delivery({ source: { topic: 't', partition: 0, offset: 'not-a-number' } });
  // Refused whatever is replaced: a delivery row needs a UUID endpoint id.
  const badEndpoint = delivery({ endpointId: 'not-a-uuid' });
  const all = [good[0]!, nul, surrogate, badOffset, good[1]!, badEndpoint, good[2]!];
  const written = Promise.all(all.map((d) => w.record(d, attemptOf(d, { responseBody: 'body \u0000 \uDC00' }))));
  await Promise.race([
    written,
    new Promise((_, reject) => setTimeout(() => reject(new Error('a record() did not settle within 20 s')), 20_000).unref()),
  ]);
  for (const d of good) assert.ok(await stored(d.deliveryId), 'good row written');
  assert.equal((await stored(nul.deliveryId))?.event_id, 'evt\uFFFDnul');
  assert.equal((await stored(surrogate.deliveryId))?.last_error, 'broken \uFFFD pair');
  const replaced = await stored(badOffset.deliveryId);
  assert.match(replaced?.last_error ?? '', /SQLSTATE 22P02/);
  assert.equal(replaced?.source_offset, 0);
  const { rows } = await db.pool.query('select count(*)::int as n from webhooks.attempts where delivery_id = any($1::uuid[])', [
    all.filter((d) => d !== badEndpoint).map((d) => d.deliveryId),
  ]);
  assert.equal(rows[0].n, 6, 'an attempt row for each stored delivery');
  await w.close(5000);
});

test('a write stuck behind a lock ends by lock_timeout and is retried until the lock is released', async () => {
  const pool = openDatabase(db.url, 2, 'bad-rows-locked', { statementTimeoutMs: 5000, lockTimeoutMs: 200 }).pool;
  const locker = new pg.Client({ connectionString: db.url });
  await locker.connect();
  const errors: unknown[] = [];
  const w = writer(pool, { errors });
  try {
    await locker.query('begin');
    await locker.query('lock table webhooks.deliveries in access exclusive mode');
    const d = delivery();
    const written = w.record(d, attemptOf(d));
    await waitFor(() => errors.filter((e) => sqlState(e) === '55P03').length >= 2, { what: 'two lock timeouts', timeoutMs: 15_000 });
    await locker.query('commit');
    await written;
    assert.ok(await stored(d.deliveryId));
  } finally {
    await locker.end();
    await w.close(5000);
    await pool.end();
  }
});

/** A loopback TCP server that accepts connections and never answers: a hung Postgres. */
async function blackhole(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `postgres://webhooks:webhooks@127.0.0.1:${port}/webhooks`,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

test('with Postgres hung, record() rejects when its signal aborts and close(deadline) returns by the deadline', async () => {
  const hung = await blackhole();
  const pool = openDatabase(hung.url, 2, 'bad-rows-hung').pool;
  const w = writer(pool);
  try {
    const ac = new AbortController();
    const aborted = w.record(delivery(), null, ac.signal);
    const pending = w.record(delivery(), null);
    ac.abort(new Error('stop'));
    await assert.rejects(aborted, /stop/);
    const started = performance.now();
    await w.close(300);
    const ms = performance.now() - started;
    assert.ok(ms < 2000, `close took ${Math.round(ms)} ms`);
    await assert.rejects(pending, LogWriterClosedError);
    await assert.rejects(w.record(delivery(), null), LogWriterClosedError);
  } finally {
    await hung.close();
    await pool.end().catch(() => {});
  }
});
