import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type pg from 'pg';
import { MigrationError } from '../errors.ts';

/** The service's own migrations, shipped beside the sources. */
export const SERVICE_MIGRATIONS_DIR = new URL('../../migrations/', import.meta.url).pathname;

/** Which ledger a folder of migrations is recorded in: the service's, or the admins' own files. */
export type MigrationSet = 'service' | 'admin';

export interface MigrationFile {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

export interface MigrationResult {
  version: number;
  name: string;
  status: 'applied' | 'skipped';
}

// One advisory lock key for every migrator of this schema (hash of "dialer-webhooks:migrate").
const LOCK_KEY = 0x5eb_4f00_1;

const FILE_RE = /^(\d{4,})_([a-z0-9_\-.]+)\.sql$/i;

/**
 * Reads `NNNN_name.sql` files in version order; rejects a `.sql` file named otherwise and two files
 * with one version. Gaps between versions are allowed (a file may have been withdrawn before it
 * was applied anywhere).
 */
export async function readMigrations(dir: string): Promise<MigrationFile[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith('.sql')).sort();
  } catch (err) {
    throw new MigrationError(`cannot read migrations folder ${dir}`, { cause: err });
  }
  const files: MigrationFile[] = [];
  const seen = new Map<number, string>();
  for (const name of names) {
    const m = FILE_RE.exec(name);
    if (!m) throw new MigrationError(`${join(dir, name)}: migration files are named NNNN_description.sql`);
    const version = Number(m[1]);
    const other = seen.get(version);
    if (other) throw new MigrationError(`${dir}: two migrations share version ${version}: ${other} and ${name}`);
    seen.set(version, name);
    const sql = await readFile(join(dir, name), 'utf8');
    files.push({ version, name, sql, checksum: createHash('sha256').update(sql).digest('hex') });
  }
  return files.sort((a, b) => a.version - b.version);
}

const BOOTSTRAP = `
  create schema if not exists webhooks;
  create table if not exists webhooks.schema_migrations (
    migration_set text not null,
    version       integer not null,
    name          text not null,
    checksum      text not null,
    applied_at    timestamptz not null default now(),
    primary key (migration_set, version)
  );
`;

export interface MigrateOptions {
  set?: MigrationSet;
  /** Values for `:'name'`-style psql variables in admin files (see `substituteVariables`). */
  variables?: Record<string, string>;
  onApplied?: (result: MigrationResult) => void;
}

/**
 * Applies pending migrations in order. Each file runs in its own transaction that first takes a
 * transaction-scoped advisory lock and re-checks the ledger, so two processes starting together
 * apply each file exactly once; the ledger row is written in the same transaction as the file.
 * A landed file whose text changed is an error: migrations are forward-only.
 */
export async function migrate(client: pg.ClientBase, files: MigrationFile[], options: MigrateOptions = {}): Promise<MigrationResult[]> {
  const set = options.set ?? 'service';
  const results: MigrationResult[] = [];
  await inLockedTransaction(client, async () => {
    await client.query(BOOTSTRAP);
  });
  for (const file of files) {
    const result = await inLockedTransaction(client, async () => {
      const done = await client.query<{ checksum: string }>(
        'select checksum from webhooks.schema_migrations where migration_set = $1 and version = $2',
        [set, file.version],
      );
      const row = done.rows[0];
      if (row) {
        if (row.checksum !== file.checksum) {
          throw new MigrationError(
            `${set} migration ${file.name} was changed after it was applied; migrations are forward-only: add a new file instead`,
          );
        }
        return { version: file.version, name: file.name, status: 'skipped' } as const;
      }
      const sql = options.variables ? substituteVariables(file.sql, options.variables, file.name) : file.sql;
      try {
        await client.query(sql);
      } catch (err) {
        throw new MigrationError(`${set} migration ${file.name} failed: ${(err as Error).message}`, { cause: err });
      }
      await client.query('insert into webhooks.schema_migrations (migration_set, version, name, checksum) values ($1, $2, $3, $4)', [
        set,
        file.version,
        file.name,
        file.checksum,
      ]);
      return { version: file.version, name: file.name, status: 'applied' } as const;
    });
    results.push(result);
    options.onApplied?.(result);
  }
  return results;
}

/**
 * The service's migrations, then the admins' files when `adminDir` is set (their `:'NAME'`
 * variables from `variables`), each set in its own ledger. `admin` is null without `adminDir`.
 */
export async function migrateAll(
  pool: pg.Pool,
  options: {
    adminDir: string | null;
    variables: Readonly<Record<string, string>>;
    onApplied?: (set: MigrationSet, r: MigrationResult) => void;
  },
): Promise<{ service: MigrationResult[]; admin: MigrationResult[] | null }> {
  const serviceFiles = await readMigrations(SERVICE_MIGRATIONS_DIR);
  const adminFiles = options.adminDir === null ? null : await readMigrations(options.adminDir);
  const client = await pool.connect();
  try {
    const service = await migrate(client, serviceFiles, { set: 'service', onApplied: (r) => options.onApplied?.('service', r) });
    const admin =
      adminFiles === null
        ? null
        : await migrate(client, adminFiles, {
            set: 'admin',
            variables: { ...options.variables },
            onApplied: (r) => options.onApplied?.('admin', r),
          });
    return { service, admin };
  } finally {
    client.release();
  }
}

async function inLockedTransaction<T>(client: pg.ClientBase, fn: () => Promise<T>): Promise<T> {
  await client.query('begin');
  try {
    // A migration may rightly take long, and waits for another migrator's lock: the pool's
    // statement and lock timeouts do not apply to it.
    await client.query('set local statement_timeout = 0; set local lock_timeout = 0');
    await client.query('select pg_advisory_xact_lock($1)', [LOCK_KEY]);
    const out = await fn();
    await client.query('commit');
    return out;
  } catch (err) {
    await client.query('rollback').catch(() => {});
    throw err;
  }
}

// `:'name'`, but not the `::'text'` of a cast.
const VARIABLE_RE = /(?<!:):'([A-Za-z_][A-Za-z0-9_]*)'/g;

/** The names of the `:'name'` variables in `sql`, each once. */
export function variableNames(sql: string): string[] {
  return [...new Set(Array.from(sql.matchAll(VARIABLE_RE), (m) => m[1]!))];
}

/**
 * Replaces psql-style variables written `:'name'` with the value as a quoted SQL literal, so admins'
 * files take secrets from the environment instead of holding them as plain text. An unset
 * variable is an error naming it.
 */
export function substituteVariables(sql: string, variables: Record<string, string>, fileName: string): string {
  return sql.replace(VARIABLE_RE, (_match, name: string) => {
    const value = variables[name];
    if (value === undefined) {
      throw new MigrationError(`${fileName}: variable :'${name}' is not set (set environment variable ${name})`);
    }
    return `'${value.replaceAll("'", "''")}'`;
  });
}
