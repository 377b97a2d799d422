import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chown, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { migrate, readMigrations, SERVICE_MIGRATIONS_DIR } from '../../src/db/migrator.ts';

const run = promisify(execFile);

/** The newest installed PostgreSQL server's bin dir (Debian layout). */
function postgresBin(): string {
  const base = '/usr/lib/postgresql';
  const majors = existsSync(base)
    ? readdirSync(base)
        .filter((d) => existsSync(path.join(base, d, 'bin/initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (majors.length === 0) throw new Error(`no PostgreSQL server under ${base}: apt-get install -y postgresql`);
  return path.join(base, majors[0]!, 'bin');
}

// Records, in the campaign's own database only, when each delivery was FIRST recorded as
// succeeded: the reference time for "no request after a recorded success".
const SUCCESS_LOG_SQL = `
create schema chaos;
create table chaos.successes (delivery_id uuid primary key, recorded_at timestamptz not null);
create function chaos.note_success() returns trigger language plpgsql as $$
begin
  if new.status = 'succeeded' then
    insert into chaos.successes values (new.id, clock_timestamp()) on conflict do nothing;
  end if;
  return null;
end $$;
create trigger chaos_note_success after insert or update on webhooks.deliveries
  for each row execute function chaos.note_success();
`;

/**
 * A PostgreSQL cluster of the campaign's own (initdb + pg_ctl in its temp dir, its own loopback
 * port), run as the `postgres` OS user when we are root. It can be stopped and started again;
 * the shared server is never touched.
 */
export class PrivatePostgres {
  readonly url: string;
  readonly #dir: string;
  readonly #data: string;
  readonly #port: number;
  readonly #bin = postgresBin();
  #running = false;

  constructor(options: { dir: string; port: number }) {
    this.#dir = options.dir;
    this.#data = path.join(options.dir, 'data');
    this.#port = options.port;
    this.url = `postgres://webhooks:webhooks@127.0.0.1:${options.port}/webhooks`;
  }

  async #as(cmd: string, args: string[]): Promise<void> {
    const bin = path.join(this.#bin, cmd);
    const asRoot = process.getuid?.() === 0;
    // cwd: the postgres user may not be allowed into ours.
    await run(asRoot ? 'runuser' : bin, asRoot ? ['-u', 'postgres', '--', bin, ...args] : args, { cwd: this.#dir, timeout: 120_000 });
  }

  /** initdb, start, the role and database, the migrations and the success log. */
  async start(): Promise<void> {
    await mkdir(this.#dir, { recursive: true });
    if (process.getuid?.() === 0) {
      const { stdout } = await run('id', ['-u', 'postgres']);
      const { stdout: gid } = await run('id', ['-g', 'postgres']);
      await chown(this.#dir, Number(stdout.trim()), Number(gid.trim()));
    }
    await this.#as('initdb', ['-D', this.#data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync', '--no-instructions']);
    await this.resume();
    const admin = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${this.#port}/postgres` });
    await admin.connect();
    try {
      await admin.query(`create role webhooks login createdb password 'webhooks'`);
      await admin.query('create database webhooks owner webhooks');
    } finally {
      await admin.end();
    }
    const client = new pg.Client({ connectionString: this.url });
    await client.connect();
    try {
      await migrate(client, await readMigrations(SERVICE_MIGRATIONS_DIR));
      await client.query(SUCCESS_LOG_SQL);
    } finally {
      await client.end();
    }
  }

  /** pg_ctl start (waits until it accepts connections). */
  async resume(): Promise<void> {
    const opts = [
      `-c port=${this.#port}`,
      '-c listen_addresses=127.0.0.1',
      `-c unix_socket_directories=${this.#dir}`,
      '-c max_connections=100',
      '-c shared_buffers=32MB',
      // Only the processes die in this campaign, never the machine: WAL written to the OS page
      // cache survives an immediate stop, so skip the disk flushes. synchronous_commit stays on:
      // without it a commit is acknowledged before its WAL leaves shared memory, and an immediate
      // stop would lose transactions the dispatcher was told are durable.
      '-c fsync=off',
      '-c full_page_writes=off',
    ].join(' ');
    await this.#as('pg_ctl', ['-D', this.#data, '-l', path.join(this.#dir, 'postgres.log'), '-w', '-t', '90', '-o', opts, 'start']);
    this.#running = true;
  }

  /** pg_ctl stop -m immediate: every connection drops at once, as in a crash. */
  async halt(): Promise<void> {
    this.#running = false;
    await this.#as('pg_ctl', ['-D', this.#data, '-m', 'immediate', '-w', '-t', '60', 'stop']);
  }

  async stop(): Promise<void> {
    if (!this.#running && !existsSync(path.join(this.#data, 'postmaster.pid'))) return;
    await this.halt().catch(() => this.stopSync());
  }

  /** At process exit: SIGQUIT (immediate shutdown) to the postmaster named in its pid file. */
  stopSync(): void {
    try {
      const pid = Number(readFileSync(path.join(this.#data, 'postmaster.pid'), 'utf8').split('\n')[0]);
      if (pid > 0) process.kill(pid, 'SIGQUIT');
    } catch {
      // Not running.
    }
  }
}
