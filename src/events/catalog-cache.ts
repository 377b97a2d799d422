import { EventEmitter } from 'node:events';
import { NotifiedJob, type NotifiedJobEvents, type TriggerReason } from '../db/notified-job.ts';
import { notifiedJobOptions, positiveInterval, type ReloadingCacheOptions } from '../db/notified-job-options.ts';
import { findEventTypes } from './catalog-reads.ts';
import { EventCatalog } from './catalog.ts';

/** The channel migration 0006's statement trigger notifies on every change to webhooks.event_types. */
export const EVENT_TYPES_CHANNEL = 'webhooks_event_types_changed';

export interface EventCatalogCacheEvents extends NotifiedJobEvents {
  reloaded: [{ count: number; reason: TriggerReason | 'start' }];
  reloadFailed: [{ reason: TriggerReason; error: unknown }];
}

export type EventCatalogCacheOptions = ReloadingCacheOptions;

/**
 * The event catalog kept fresh from Postgres, as the endpoint cache is: LISTEN, then a full
 * load; every notification, reconnect or interval reloads the whole table. A failed reload keeps
 * the previous catalog. Unchanged schemas are not compiled again.
 */
export class EventCatalogCache extends EventEmitter<EventCatalogCacheEvents> implements AsyncDisposable {
  readonly #options: EventCatalogCacheOptions;
  readonly #job: NotifiedJob<never>;
  #catalog: EventCatalog = EventCatalog.empty;

  constructor(options: EventCatalogCacheOptions) {
    super();
    this.#options = options;
    this.#job = new NotifiedJob<never>(
      notifiedJobOptions(options, {
        listen: { owner: 'EventCatalogCache', channel: EVENT_TYPES_CHANNEL, applicationName: 'dialer-webhooks-catalog', debounceMs: 50 },
        log: { subject: 'event catalog', listensFor: 'event catalog changes', run: 'reload' },
        run: async (reason) => {
          try {
            await this.#load(reason);
          } catch (error) {
            this.#options.logger.warn({ err: error, reason }, 'event catalog reload failed; keeping the previous catalog');
            this.emit('reloadFailed', { reason, error });
          }
          return null;
        },
        intervalMs: positiveInterval('reloadIntervalMs', options.reloadIntervalMs),
        events: this,
        onStart: () => this.#load('start'),
      }),
    );
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
    const definitions = await findEventTypes(this.#options.db);
    if (this.#job.stopped) return;
    const { logger } = this.#options;
    this.#catalog = EventCatalog.from(definitions, logger, this.#catalog);
    logger.debug({ count: this.#catalog.size, reason }, 'event catalog reloaded');
    this.emit('reloaded', { count: this.#catalog.size, reason });
  }
}
