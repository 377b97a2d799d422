import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import pg from 'pg';
import { migrate, readMigrations, SERVICE_MIGRATIONS_DIR } from '../../src/db/migrator.ts';
import { MigrationError } from '../../src/errors.ts';
import { createEmptyDatabase } from '../support/database.ts';

const drops: Array<() => Promise<void>> = [];
after(async () => {
  for (const d of drops) await d();
});

async function client(url: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  return c;
}

test('migrations apply to an empty database and a second run applies nothing', async () => {
  const empty = await createEmptyDatabase('mig');
  drops.push(empty.drop);
  const files = await readMigrations(SERVICE_MIGRATIONS_DIR);
  assert.ok(files.length >= 1);
  const c = await client(empty.url);
  try {
    const first = await migrate(c, files);
    assert.deepEqual(
      first.map((r) => r.status),
      files.map(() => 'applied'),
    );
    const second = await migrate(c, files);
    assert.deepEqual(
      second.map((r) => r.status),
      files.map(() => 'skipped'),
    );
    const { rows } = await c.query('select count(*)::int as n from webhooks.schema_migrations');
    assert.equal(rows[0].n, files.length);
    const tables = await c.query(`select table_name from information_schema.tables where table_schema = 'webhooks' order by 1`);
    const names = tables.rows.map((r: { table_name: string }) => r.table_name);
    for (const t of ['endpoints', 'deliveries', 'attempts', 'settings', 'event_types', 'schema_migrations'])
      assert.ok(names.includes(t), `table ${t}`);
  } finally {
    await c.end();
  }
});

test('two processes migrating at once apply each migration exactly once', async () => {
  const empty = await createEmptyDatabase('migrace');
  drops.push(empty.drop);
  const files = await readMigrations(SERVICE_MIGRATIONS_DIR);
  const clients = await Promise.all([client(empty.url), client(empty.url), client(empty.url)]);
  try {
    const results = await Promise.all(clients.map((c) => migrate(c, files)));
    for (let i = 0; i < files.length; i++) {
      const applied = results.filter((r) => r[i]!.status === 'applied').length;
      assert.equal(applied, 1, `migration ${files[i]!.name} applied by exactly one runner`);
    }
  } finally {
    await Promise.all(clients.map((c) => c.end()));
  }
});

test('a landed migration whose text changed is refused, and a failing one leaves no trace', async () => {
  const empty = await createEmptyDatabase('migedit');
  drops.push(empty.drop);
  const dir = await mkdtemp(join(tmpdir(), 'wh-mig-'));
  await writeFile(join(dir, '0001_one.sql'), 'create table webhooks.one (id int);');
  const c = await client(empty.url);
  try {
    await migrate(c, await readMigrations(dir), { set: 'admin' });
    await writeFile(join(dir, '0001_one.sql'), 'create table webhooks.one (id bigint);');
    await assert.rejects(migrate(c, await readMigrations(dir), { set: 'admin' }), (err: unknown) => {
      assert.ok(err instanceof MigrationError);
      assert.match(err.message, /changed after it was applied/);
      return true;
    });
    await writeFile(join(dir, '0001_one.sql'), 'create table webhooks.one (id int);');
    await writeFile(join(dir, '0002_bad.sql'), 'create table webhooks.two (id int); select no_such_function();');
    await assert.rejects(migrate(c, await readMigrations(dir), { set: 'admin' }), /0002_bad.sql failed/);
    const two = await c.query(`select to_regclass('webhooks.two') as t`);
    assert.equal(two.rows[0].t, null, 'the failed file was rolled back whole');
    const ledger = await c.query(`select version from webhooks.schema_migrations where migration_set = 'admin' order by 1`);
    assert.deepEqual(
      ledger.rows.map((r: { version: number }) => r.version),
      [1],
    );
  } finally {
    await c.end();
  }
});

test('misnamed and duplicate migration files are rejected with the file named', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'wh-mig-'));
  await writeFile(join(dir, 'one.sql'), 'select 1;');
  await assert.rejects(readMigrations(dir), /one\.sql: migration files are named NNNN_description\.sql/);
  const dir2 = await mkdtemp(join(tmpdir(), 'wh-mig-'));
  await writeFile(join(dir2, '0001_a.sql'), 'select 1;');
  await writeFile(join(dir2, '01_b.sql'), 'select 1;');
  await assert.rejects(readMigrations(dir2), /01_b\.sql: migration files are named/);
  const dir3 = await mkdtemp(join(tmpdir(), 'wh-mig-'));
  await writeFile(join(dir3, '0001_a.sql'), 'select 1;');
  await writeFile(join(dir3, '00001_b.sql'), 'select 1;');
  await assert.rejects(readMigrations(dir3), /two migrations share version 1/);
});
