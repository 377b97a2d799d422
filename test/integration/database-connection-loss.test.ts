import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { sql } from 'kysely';
import pg from 'pg';
import { openDatabase, type DatabaseHandle } from '../../src/db/database.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { waitFor } from '../support/wait-for.ts';

// Found by the chaos campaign (postgres-stop rounds): a dispatcher died of an unhandled 'error'
// event when Postgres went away while a query was running.
let testDb: TestDatabase;
const uncaught: unknown[] = [];
const onUncaught = (err: unknown): void => void uncaught.push(err);

before(async () => {
  testDb = await createTestDatabase('conn_loss');
  process.on('uncaughtException', onUncaught);
});
after(async () => {
  process.off('uncaughtException', onUncaught);
  await testDb.drop();
});

/** Ends, from another session, every backend of `applicationName` (only this test's own). */
async function terminate(applicationName: string): Promise<number> {
  const admin = new pg.Client({ connectionString: testDb.url });
  await admin.connect();
  try {
    const r = await admin.query(
      'select count(pg_terminate_backend(pid))::int as n from pg_stat_activity where application_name = $1 and usename = current_user',
      [applicationName],
    );
    return r.rows[0].n as number;
  } finally {
    await admin.end();
  }
}

test('a transaction whose connection the server ends fails with the error instead of crashing the process, and the pool serves the next query', async () => {
  const name = `conn-loss-${randomBytes(4).toString('hex')}`;
  const handle: DatabaseHandle = openDatabase(testDb.url, 2, name);
  try {
    // In a transaction, so the connection stays checked out until the rollback has failed too.
    const running = handle.db
      .transaction()
      .execute((trx) => sql`select pg_sleep(30)`.execute(trx))
      .then(
        () => null,
        (err: unknown) => err,
      );
    await waitFor(async () => (await terminate(name)) > 0, { what: 'the running query terminated', intervalMs: 100 });
    const err = await running;
    assert.ok(err instanceof Error, 'the interrupted query rejects');
    assert.deepEqual(uncaught, [], 'no uncaught error event');
    // A query sent before the socket's end is seen may still meet the dead connection once.
    const r = await waitFor(() => sql<{ one: number }>`select 1 as one`.execute(handle.db), { what: 'a query on a new connection' });
    assert.equal(r.rows[0]!.one, 1);
  } finally {
    await handle.db.destroy();
  }
});

test('a client checked out between queries that loses its connection does not crash the process', async () => {
  const name = `conn-loss-${randomBytes(4).toString('hex')}`;
  const handle = openDatabase(testDb.url, 2, name);
  try {
    const client = await handle.pool.connect();
    assert.equal(await terminate(name), 1);
    await waitFor(() => (client as unknown as { _ending?: boolean; _ended?: boolean })._ended === true, {
      what: 'the client noticed the lost connection',
    });
    assert.deepEqual(uncaught, [], 'no uncaught error event');
    await assert.rejects(client.query('select 1'));
    client.release(true);
  } finally {
    await handle.db.destroy();
  }
});
