/**
 * Compares the committed `schema.sql` with the schema the migrations really produce: migrates a
 * fresh database, dumps schema `webhooks` with pg_dump, and diffs. `--write` updates schema.sql.
 * Monthly partitions of webhooks.attempts (named by the current month) are left out of the dump.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import pg from 'pg';
import { migrate, readMigrations, SERVICE_MIGRATIONS_DIR } from '../src/db/migrator.ts';
import { createEmptyDatabase } from '../test/support/database.ts';

const root = new URL('..', import.meta.url).pathname;
const file = `${root}schema.sql`;

function normalise(dump: string): string {
  return (
    dump
      .split('\n')
      .filter((l) => !l.startsWith('-- Dumped') && !l.startsWith('\\restrict') && !l.startsWith('\\unrestrict'))
      .join('\n')
      .replace(/\n{3,}/g, '\n\n')
      .trim() + '\n'
  );
}

const db = await createEmptyDatabase('schemacheck');
let code = 0;
try {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    await migrate(client, await readMigrations(SERVICE_MIGRATIONS_DIR));
  } finally {
    await client.end();
  }
  const dump = spawnSync(
    'pg_dump',
    ['--schema-only', '--schema=webhooks', '--no-owner', '--no-privileges', '--exclude-table=webhooks.attempts_2*', db.url],
    { encoding: 'utf8' },
  );
  if (dump.status !== 0) {
    console.error(`schema-check: pg_dump failed: ${dump.stderr.trim()}`);
    code = 2;
  } else {
    const actual = normalise(dump.stdout);
    if (process.argv.includes('--write')) {
      writeFileSync(file, actual);
      console.log('schema-check: schema.sql written');
    } else {
      let expected = '';
      try {
        expected = readFileSync(file, 'utf8');
      } catch {
        // missing: reported as a difference below
      }
      if (expected === actual) console.log('schema-check: schema.sql matches the migrated schema');
      else {
        mkdirSync(`${root}.run`, { recursive: true });
        writeFileSync(`${root}.run/schema.actual.sql`, actual);
        const diff = spawnSync('diff', ['-u', file, `${root}.run/schema.actual.sql`], { encoding: 'utf8' });
        console.error(
          `schema-check: schema.sql differs from the migrated schema (run: npm run schema:write)\n${diff.stdout.slice(0, 20_000)}`,
        );
        code = 1;
      }
    }
  }
} finally {
  await db.drop();
}
process.exitCode = code;
