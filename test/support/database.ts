import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import pg from 'pg';
import { migrate, readMigrations, SERVICE_MIGRATIONS_DIR } from '../../src/db/migrator.ts';
import { openDatabase, type DatabaseHandle } from '../../src/db/database.ts';
import { retrying } from '../../src/util/backoff.ts';

/** The server the tests use: DATABASE_URL when set, else the one `npm run services:up` starts. */
export const BASE_DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://webhooks:webhooks@127.0.0.1:5432/webhooks';

export function databaseUrl(name: string): string {
  const u = new URL(BASE_DATABASE_URL);
  u.pathname = `/${name}`;
  return u.toString();
}

async function withAdmin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: BASE_DATABASE_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * Drops a test database, closing what is still connected. `with (force)` refuses (SQLSTATE 42501,
 * insufficient privilege) while a backend of a role this user cannot signal is in the database,
 * such as an autovacuum worker that happens to be cleaning it: that passes in moments, so it is
 * retried for a while; any other error is thrown at once.
 */
async function dropDatabase(name: string): Promise<void> {
  await retrying(() => withAdmin((admin) => admin.query(`drop database if exists ${name} with (force)`)), {
    signal: AbortSignal.timeout(30_000),
    initialMs: 100,
    maxMs: 1000,
    retryable: (err) => (err as { code?: unknown }).code === '42501',
  });
}

/**
 * Tests deliver to receivers on loopback over plain http, which a real installation refuses
 * (REQUIRE_HTTPS, the egress guard): the tests say so explicitly, here for endpoints written before
 * a dispatcher starts, and in testEnv() for the dispatcher, which writes the same settings.
 */
export const TEST_ALLOW_NETWORKS = '127.0.0.0/8,::1/128';
const TEST_SETTINGS_SQL = `
  update webhooks.settings set value = 'false' where key = 'require_https';
  update webhooks.settings set value = '${TEST_ALLOW_NETWORKS}' where key = 'delivery_allow_networks';`;

/**
 * Makes (once per migration set) a migrated template database and returns its name. Its name
 * carries a hash of the migration files, so a new migration yields a new template. Guarded by an
 * advisory lock because test files run in parallel processes.
 */
async function templateDatabase(): Promise<string> {
  const files = await readMigrations(SERVICE_MIGRATIONS_DIR);
  const hash = createHash('sha256')
    .update(files.map((f) => f.checksum).join(','))
    .digest('hex')
    .slice(0, 12);
  const name = `wh_template_${hash}`;
  await withAdmin(async (admin) => {
    await admin.query('select pg_advisory_lock(4242001)');
    try {
      const exists = await admin.query('select 1 from pg_database where datname = $1', [name]);
      if (exists.rowCount === 0) {
        const building = `${name}_building`;
        await admin.query(`drop database if exists ${building}`);
        await admin.query(`create database ${building}`);
        const c = new pg.Client({ connectionString: databaseUrl(building) });
        await c.connect();
        try {
          await migrate(c, files);
          await c.query(TEST_SETTINGS_SQL);
        } finally {
          await c.end();
        }
        await admin.query(`alter database ${building} rename to ${name}`);
      }
    } finally {
      await admin.query('select pg_advisory_unlock(4242001)');
    }
  });
  return name;
}

export interface TestDatabase extends DatabaseHandle {
  name: string;
  url: string;
  /** Drops the database (closing the pool first). */
  drop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * A fresh database of its own for one test file, cloned from the migrated template
 * (`create database … template …`), with an open kysely/pg pool on it.
 */
export async function createTestDatabase(label = 'test'): Promise<TestDatabase> {
  const template = await templateDatabase();
  const name = `wh_${label
    .replace(/[^a-z0-9_]/gi, '_')
    .toLowerCase()
    .slice(0, 30)}_${randomBytes(4).toString('hex')}`;
  await withAdmin(async (admin) => {
    // Cloning needs the template to have no other connections; the lock serialises clones.
    await admin.query('select pg_advisory_lock(4242001)');
    try {
      await admin.query(`create database ${name} template ${template}`);
    } finally {
      await admin.query('select pg_advisory_unlock(4242001)');
    }
  });
  const url = databaseUrl(name);
  const handle = openDatabase(url, 10, `test-${label}`);
  let dropped = false;
  const drop = async (): Promise<void> => {
    if (dropped) return;
    dropped = true;
    await handle.db.destroy();
    await dropDatabase(name);
  };
  return { ...handle, name, url, drop, [Symbol.asyncDispose]: drop };
}

/** An empty database (for migration tests). */
export async function createEmptyDatabase(label = 'empty'): Promise<{ name: string; url: string; drop(): Promise<void> }> {
  const name = `wh_${label}_${randomBytes(4).toString('hex')}`;
  await withAdmin((admin) => admin.query(`create database ${name}`));
  return {
    name,
    url: databaseUrl(name),
    drop: () => dropDatabase(name),
  };
}

/** The error a statement was rejected with, failing the test when it was not rejected by Postgres. */
export async function dbError(promise: Promise<unknown>): Promise<pg.DatabaseError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof pg.DatabaseError, `expected a DatabaseError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the statement to be rejected');
}
