import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { Db } from '../db/database.ts';
import { NotifiedJob, type NotifiedJobEvents } from '../db/notified-job.ts';
import { notifiedJobOptions, positiveInterval, type ReloadingCacheOptions } from '../db/notified-job-options.ts';
import type { Endpoint } from './endpoint.ts';
import { EndpointIndex } from './endpoint-index.ts';
import { findEnabledEndpoints } from './endpoint-reads.ts';

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
export interface EndpointCacheEvents extends NotifiedJobEvents {
  reloaded: [ReloadedEvent];
  /** A reload failed; the previous index stays in use until the next trigger. */
  reloadFailed: [{ reason: ReloadReason; error: unknown }];
}

export type EndpointCacheOptions = ReloadingCacheOptions;

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
  readonly #logger: Logger;
  readonly #signal: AbortSignal | undefined;
  readonly #job: NotifiedJob<ReloadReason>;
  #index: EndpointIndex = EndpointIndex.empty;

  constructor(options: EndpointCacheOptions) {
    super();
    this.#db = options.db;
    this.#logger = options.logger;
    this.#signal = options.signal;
    this.#job = new NotifiedJob<ReloadReason>(
      notifiedJobOptions(options, {
        listen: { owner: 'EndpointCache', channel: ENDPOINTS_CHANNEL, applicationName: 'dialer-webhooks-listen', debounceMs: 50 },
        log: { subject: 'endpoint', listensFor: 'endpoint changes', run: 'reload' },
        run: async (reason) => {
          await this.#reload(reason);
          return null;
        },
        intervalMs: positiveInterval('reloadIntervalMs', options.reloadIntervalMs),
        events: this,
        onStart: () => this.#firstLoad(),
      }),
    );
  }

  /** True while the LISTEN connection is up (readiness). */
  get listening(): boolean {
    return this.#job.listening;
  }

  /**
   * Connects the LISTEN connection, loads the index and starts the reload timer. Rejects, leaving
   * nothing open, if Postgres cannot be reached or the first load fails.
   */
  start(): Promise<void> {
    return this.#job.start();
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
    return this.#job.stop();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  // --- reloads -------------------------------------------------------------------------------

  // Unlike later reloads, a failed first load fails start(): there is no previous index to keep.
  async #firstLoad(): Promise<void> {
    const started = performance.now();
    const endpoints = await findEnabledEndpoints(this.#db);
    if (this.#job.stopped) {
      this.#signal?.throwIfAborted();
      return;
    }
    this.#swap(endpoints, 'start', started);
  }

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
    if (this.#job.stopped) return;
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
