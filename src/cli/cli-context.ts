import { loadConfig, type Config } from '../config.ts';
import type { CommandSpec, Parsed } from './args.ts';
import { openDatabase, type DatabaseHandle } from '../db/database.ts';
import { DatabaseUnreachableError } from './cli-errors.ts';
import type { Output } from './output.ts';
import { redactUrl } from './output.ts';

/** What a command gets: the environment, an output, and the database on demand. */
export interface CliContext {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly out: Output;
  /** Wall clock, ms (relative `--since` values). */
  now(): number;
  /** The configuration (throws `ConfigError` → exit 2). */
  config(): Readonly<Config>;
  /** Opens the database once and checks that it answers (throws `DatabaseUnreachableError` → exit 3). */
  database(): Promise<DatabaseHandle>;
  /** Closes what was opened. */
  close(): Promise<void>;
}

/** How long the CLI waits for the database's first answer before giving up (exit 3). */
const CONNECT_TIMEOUT_MS = 10_000;

// SQLSTATE classes and codes that mean "no usable connection": connection exceptions (08),
// authentication (28), no such database (3D000), server starting or shutting down (57P0x),
// too many connections (53300).
const UNREACHABLE_SQLSTATE = /^(08...|28...|3D000|57P0[1-4]|53300)$/;
const UNREACHABLE_ERRNO = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNRESET',
  'EPIPE',
]);

/** True when `err` (from pg) means the database cannot be reached or used at all. */
export function isUnreachableError(err: unknown): boolean {
  const code = errorCode(err);
  if (code === undefined) return false;
  return UNREACHABLE_ERRNO.has(code) || UNREACHABLE_SQLSTATE.test(code);
}

export function errorCode(err: unknown): string | undefined {
  let current = err;
  for (let depth = 0; depth < 4 && typeof current === 'object' && current !== null; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    const inner = current instanceof AggregateError ? current.errors[0] : (current as { cause?: unknown }).cause;
    current = inner;
  }
  return undefined;
}

/** A one-line description of a connection failure (AggregateErrors of happy-eyeballs have no message of their own). */
export function describeConnectError(err: unknown): string {
  if (err instanceof AggregateError && err.message === '') {
    const first: unknown = err.errors[0];
    if (first instanceof Error) return first.message;
  }
  const message = err instanceof Error ? err.message : String(err);
  return message === '' ? (errorCode(err) ?? 'connection failed') : message.split('\n')[0]!;
}

export function createCliContext(env: Readonly<Record<string, string | undefined>>, out: Output): CliContext {
  let config: Readonly<Config> | null = null;
  let handle: DatabaseHandle | null = null;
  let opening: Promise<DatabaseHandle> | null = null;

  const getConfig = (): Readonly<Config> => (config ??= loadConfig(env));

  async function open(): Promise<DatabaseHandle> {
    const { url } = getConfig().database;
    handle = openDatabase(url, 2, 'dialer-webhooks-cli');
    // The admin functions explain no-ops with a NOTICE (e.g. "already waiting for its next attempt").
    handle.pool.on('connect', (client) => client.on('notice', (n) => out.error(`notice: ${n.message}`)));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new DatabaseUnreachableError(`cannot reach the database at ${redactUrl(url)}: no answer in ${CONNECT_TIMEOUT_MS / 1000} s`),
          ),
        CONNECT_TIMEOUT_MS,
      );
    });
    try {
      await Promise.race([handle.pool.query('select 1'), timeout]);
    } catch (err) {
      if (err instanceof DatabaseUnreachableError) throw err;
      // Whatever stops the very first query means the database is not usable from here.
      throw new DatabaseUnreachableError(`cannot reach the database at ${redactUrl(url)}: ${describeConnectError(err)}`, { cause: err });
    } finally {
      clearTimeout(timer);
    }
    return handle;
  }

  return {
    env,
    out,
    now: () => Date.now(),
    config: getConfig,
    database: () => (opening ??= open()),
    async close() {
      if (handle) await handle.db.destroy().catch(() => {});
      handle = null;
    },
  };
}

/** A runnable command: its spec (options, help) and what it does; resolves with the exit code. */
export interface Command {
  spec: CommandSpec;
  run(ctx: CliContext, parsed: Parsed): Promise<number>;
}
