import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { Db } from '../db/database.ts';
import { UsageError } from '../errors.ts';
import type { ListenConnection } from '../db/listen-connection.ts';
import { createListenTrigger } from '../db/listen-trigger.ts';
import type { Endpoint } from './endpoint.ts';
import { EndpointIndex } from './endpoint-index.ts';
import { findEnabledEndpoints } from './endpoint-reads.ts';
import { CoalescingRunner } from '../util/coalescing-runner.ts';

/** The channel migration 0001's statement trigger notifies on every change to webhooks.endpoints. */
export const ENDPOINTS_CHANNEL = 'webhooks_endpoints_changed';

export type ReloadReason = 'start' | 'notify' | 'interval' | 'reconnect';

export interface ReloadedEvent {
  /** Endpoints in the new index. */
  count: number;
  reason: ReloadReason;
  durationMs: number;
}

/** Lifecycle events, for metrics and tests. */
export interface EndpointCacheEvents {
  reloaded: [ReloadedEvent];
  /** A change notification arrived (a reload is requested; several may share one reload). */
  notification: [];
  /** A reload failed; the previous index stays in use until the next trigger. */
  reloadFailed: [{ reason: ReloadReason; error: unknown }];
  /** The LISTEN connection is up (at start and after every reconnect). */
  listenerConnected: [];
  /** The LISTEN connection failed or was lost; a reconnect is scheduled in `retryInMs`. */
  listenerError: [{ error: unknown; retryInMs: number }];
}

export interface EndpointCacheOptions {
  /** Pool used for the reload queries. */
  db: Db;
  /** Where the dedicated LISTEN connection goes (the same database as `db`). */
  databaseUrl: string;
  /** Full reload period, ms: the safety net for lost notifications. */
  reloadIntervalMs: number;
  /** Used as given: the caller scopes it (e.g. a child with `{ component: 'endpoints' }`). */
  logger: Logger;
  /** Notifications within this window coalesce into one reload, ms. Default 50. */
  debounceMs?: number;
  /** Aborting it stops the cache. */
  signal?: AbortSignal;
  /** application_name of the LISTEN connection (shows in pg_stat_activity). Default `dialer-webhooks-listen`. */
  applicationName?: string;
  /** Reconnect backoff of the LISTEN connection: doubles from `initialMs` up to `maxMs`, with jitter. Default 100 ms to 10 s. */
  reconnectBackoff?: { initialMs: number; maxMs: number };
}

/**
 * The endpoint index, kept fresh from Postgres. NOTIFY is only a hint that something changed:
 * every trigger (notification, timer, reconnect) reloads the whole enabled set, so a lost or
 * coalesced notification costs latency, never correctness.
 *
 * Invariants:
 * - LISTEN is in place before the first load, so no change committed after the load is missed.
 * - Reloads never overlap; a trigger during a reload queues exactly one more reload after it,
 *   whose query starts after the trigger and so sees the change that caused it.
 * - A failed reload keeps the previous index; `current()` never goes empty because of an outage.
 */
export class EndpointCache extends EventEmitter<EndpointCacheEvents> implements AsyncDisposable {
  readonly #db: Db;
  readonly #reloadIntervalMs: number;
  readonly #logger: Logger;
  readonly #signal: AbortSignal | undefined;

  #index: EndpointIndex = EndpointIndex.empty;
  #started = false;
  #stopped = false;
  #stopping: Promise<void> | null = null;

  readonly #listen: ListenConnection;

  #intervalTimer: NodeJS.Timeout | undefined;
  readonly #reloads: CoalescingRunner<ReloadReason>;

  readonly #onAbort = (): void => {
    void this.stop();
  };

  constructor(options: EndpointCacheOptions) {
    super();
    if (!(options.reloadIntervalMs > 0)) throw new UsageError(`reloadIntervalMs must be positive, got ${options.reloadIntervalMs}`);
    this.#db = options.db;
    this.#reloadIntervalMs = options.reloadIntervalMs;
    this.#reloads = new CoalescingRunner<ReloadReason>({
      run: async (reason) => {
        await this.#reload(reason);
        return null;
      },
      debounceMs: options.debounceMs ?? 50,
      debounced: 'notify',
      onError: (err, reason) => this.#logger.warn({ err, reason }, 'endpoint reload failed'),
    });
    this.#logger = options.logger;
    this.#signal = options.signal;
    // A reconnect reloads everything: changes made while the connection was down announced
    // themselves to nobody.
    this.#listen = createListenTrigger(
      {
        databaseUrl: options.databaseUrl,
        channels: [ENDPOINTS_CHANNEL],
        applicationName: options.applicationName ?? 'dialer-webhooks-listen',
        logger: options.logger,
        ...(options.reconnectBackoff ? { reconnectBackoff: options.reconnectBackoff } : {}),
        messages: { listening: 'listening for endpoint changes', lost: 'endpoint LISTEN connection lost; reconnecting' },
      },
      this.#reloads,
      this,
    );
  }

  /** True while the LISTEN connection is up (readiness). */
  get listening(): boolean {
    return this.#listen.listening;
  }

  /**
   * Connects the LISTEN connection, loads the index and starts the reload timer. Rejects, leaving
   * nothing open, if Postgres cannot be reached or the first load fails.
   */
  async start(): Promise<void> {
    if (this.#started) throw new UsageError('EndpointCache.start() called twice');
    if (this.#stopped) throw new UsageError('EndpointCache was stopped before it started');
    this.#started = true;
    this.#signal?.throwIfAborted();
    this.#signal?.addEventListener('abort', this.#onAbort, { once: true });
    try {
      await this.#listen.start();
      const started = performance.now();
      const endpoints = await findEnabledEndpoints(this.#db);
      if (this.#stopped) {
        this.#signal?.throwIfAborted();
        return;
      }
      this.#swap(endpoints, 'start', started);
    } catch (err) {
      await this.stop();
      throw err;
    }
    this.#intervalTimer = setInterval(() => this.#reloads.request('interval'), this.#reloadIntervalMs);
  }

  /** The latest loaded index (empty before `start()`). */
  current(): EndpointIndex {
    return this.#index;
  }

  /** The enabled endpoint with this id in the current index, if any. */
  get(id: string): Endpoint | undefined {
    return this.#index.get(id);
  }

  /** Stops timers, waits for a running reload and closes the LISTEN connection. Safe to call twice. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  async #stop(): Promise<void> {
    this.#stopped = true;
    this.#signal?.removeEventListener('abort', this.#onAbort);
    clearInterval(this.#intervalTimer);
    const reloads = this.#reloads.stop();
    await this.#listen.stop();
    await reloads;
  }

  // --- reloads -------------------------------------------------------------------------------

  async #reload(reason: ReloadReason): Promise<void> {
    const started = performance.now();
    let endpoints: Endpoint[];
    try {
      endpoints = await findEnabledEndpoints(this.#db);
    } catch (error) {
      this.#logger.warn({ err: error, reason }, 'endpoint reload failed; keeping the previous index until the next trigger');
      this.emit('reloadFailed', { reason, error });
      return;
    }
    if (this.#stopped) return;
    this.#swap(endpoints, reason, started);
  }

  #swap(endpoints: Endpoint[], reason: ReloadReason, started: number): void {
    const index = new EndpointIndex(endpoints);
    this.#index = index;
    const durationMs = performance.now() - started;
    this.#logger.debug({ count: index.size, reason, durationMs }, 'endpoint index reloaded');
    this.emit('reloaded', { count: index.size, reason, durationMs });
  }
}
