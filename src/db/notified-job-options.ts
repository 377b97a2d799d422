import type { Logger } from 'pino';
import { UsageError } from '../errors.ts';
import type { Db } from './database.ts';
import type { NotifiedJobOptions } from './notified-job.ts';

/** The LISTEN settings a notified job's owner takes from its own caller, as given. */
export interface ListenerOptions {
  /** Where the dedicated LISTEN connection goes (the owner's database). */
  databaseUrl: string;
  /** Used as given: the caller scopes it (e.g. a child with `{ component: 'endpoints' }`). */
  logger: Logger;
  /** application_name of the LISTEN connection (shows in pg_stat_activity). Default: one per owner. */
  applicationName?: string | undefined;
  /** Notifications within this window share one run, ms. Default: one per owner (50 for the caches). */
  debounceMs?: number | undefined;
  /** Reconnect backoff of the LISTEN connection: doubles from `initialMs` up to `maxMs`, with jitter. Default 100 ms to 10 s. */
  reconnectBackoff?: { initialMs: number; maxMs: number } | undefined;
  /** Aborting it stops the owner. */
  signal?: AbortSignal | undefined;
}

/** The options of a cache that reloads a whole table on every trigger (endpoints, event catalog). */
export interface ReloadingCacheOptions extends ListenerOptions {
  /** Pool used for the reload queries (the same database as `databaseUrl`). */
  db: Db;
  /** Full reload period, ms: the safety net for lost notifications. */
  reloadIntervalMs: number;
}

/** `ms`, checked positive: a NotifiedJob's interval (the owner names its option in the error). */
export function positiveInterval(name: string, ms: number): number {
  if (!(ms > 0)) throw new UsageError(`${name} must be positive, got ${ms}`);
  return ms;
}

/** What the owner itself names: itself and its channel, its defaults, its log lines and the job. */
export interface NotifiedJobSpec<R extends string> extends Pick<
  NotifiedJobOptions<R>,
  'run' | 'intervalMs' | 'events' | 'onStart' | 'onStop'
> {
  /** `applicationName` and `debounceMs` are the defaults for what the caller's options leave out. */
  listen: { owner: string; channel: string; applicationName: string; debounceMs: number };
  /**
   * Names in the log lines: `listening for ${listensFor}` (debug, LISTEN is up),
   * `${subject} LISTEN connection lost; reconnecting` (warn), `${subject} ${run} failed` (warn, a run threw).
   */
  log: { subject: string; listensFor: string; run: string };
}

/**
 * The options of a NotifiedJob that LISTENs on one channel, as the endpoint cache, the event
 * catalog cache and the redelivery watcher build them: so the three cannot drift apart on how a
 * caller's settings reach the LISTEN connection.
 */
export function notifiedJobOptions<R extends string>(options: ListenerOptions, spec: NotifiedJobSpec<R>): NotifiedJobOptions<R> {
  const { listen, log, ...job } = spec;
  const { logger, reconnectBackoff } = options;
  return {
    ...job,
    owner: listen.owner,
    listen: {
      databaseUrl: options.databaseUrl,
      channels: [listen.channel],
      applicationName: options.applicationName ?? listen.applicationName,
      logger,
      ...(reconnectBackoff ? { reconnectBackoff } : {}),
      messages: { listening: `listening for ${log.listensFor}`, lost: `${log.subject} LISTEN connection lost; reconnecting` },
    },
    debounceMs: options.debounceMs ?? listen.debounceMs,
    onError: (err, reason) => logger.warn({ err, reason }, `${log.subject} ${log.run} failed`),
    signal: options.signal,
  };
}
