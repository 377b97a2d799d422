import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { Db } from '../db/database.ts';
import { NotifiedJob, type NotifiedJobEvents, type TriggerReason } from '../db/notified-job.ts';
import { UsageError } from '../errors.ts';
import { findEventTypes } from './catalog-reads.ts';
import { EventCatalog } from './catalog.ts';

/** The channel migration 0006's statement trigger notifies on every change to webhooks.event_types. */
export const EVENT_TYPES_CHANNEL = 'webhooks_event_types_changed';

export interface EventCatalogCacheEvents extends NotifiedJobEvents {
  reloaded: [{ count: number; reason: TriggerReason | 'start' }];
  reloadFailed: [{ reason: TriggerReason; error: unknown }];
}

export interface EventCatalogCacheOptions {
  db: Db;
  databaseUrl: string;
  /** Full reload period, ms: the safety net for a lost notification. */
  reloadIntervalMs: number;
  logger: Logger;
  debounceMs?: number;
  signal?: AbortSignal;
  applicationName?: string;
}

/**
 * The event catalog kept fresh from Postgres, as the endpoint cache is: LISTEN, then a full
 * load; every notification, reconnect or interval reloads the whole table. A failed reload keeps
 * the previous catalog. Unchanged schemas are not compiled again.
 */
export class EventCatalogCache extends EventEmitter<EventCatalogCacheEvents> implements AsyncDisposable {
  readonly #db: Db;
  readonly #logger: Logger;
  readonly #job: NotifiedJob<never>;
  #catalog: EventCatalog = EventCatalog.empty;

  constructor(options: EventCatalogCacheOptions) {
    super();
    if (!(options.reloadIntervalMs > 0)) throw new UsageError(`reloadIntervalMs must be positive, got ${options.reloadIntervalMs}`);
    this.#db = options.db;
    this.#logger = options.logger;
    this.#job = new NotifiedJob<never>({
      owner: 'EventCatalogCache',
      listen: {
        databaseUrl: options.databaseUrl,
        channels: [EVENT_TYPES_CHANNEL],
        applicationName: options.applicationName ?? 'dialer-webhooks-catalog',
        logger: options.logger,
        messages: { listening: 'listening for event catalog changes', lost: 'event catalog LISTEN connection lost; reconnecting' },
      },
      run: async (reason) => {
        try {
          await this.#load(reason);
        } catch (error) {
          this.#logger.warn({ err: error, reason }, 'event catalog reload failed; keeping the previous catalog');
          this.emit('reloadFailed', { reason, error });
        }
        return null;
      },
      debounceMs: options.debounceMs ?? 50,
      onError: (err, reason) => this.#logger.warn({ err, reason }, 'event catalog reload failed'),
      intervalMs: options.reloadIntervalMs,
      signal: options.signal,
      events: this,
      onStart: () => this.#load('start'),
    });
  }

  /** Connects LISTEN and loads the catalog; rejects, leaving nothing open, if the first load fails. */
  start(): Promise<void> {
    return this.#job.start();
  }

  /** The latest loaded catalog (empty before `start()`). */
  current(): EventCatalog {
    return this.#catalog;
  }

  get listening(): boolean {
    return this.#job.listening;
  }

  stop(): Promise<void> {
    return this.#job.stop();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  async #load(reason: TriggerReason | 'start'): Promise<void> {
    const definitions = await findEventTypes(this.#db);
    if (this.#job.stopped) return;
    this.#catalog = EventCatalog.from(definitions, this.#logger, this.#catalog);
    this.#logger.debug({ count: this.#catalog.size, reason }, 'event catalog reloaded');
    this.emit('reloaded', { count: this.#catalog.size, reason });
  }
}
