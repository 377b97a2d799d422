import type { Logger } from 'pino';
import { ListenConnection } from '../db/listen-connection.ts';

/** The channel the endpoints table's trigger NOTIFYs on every change (migration 0001). */
export const ENDPOINTS_CHANNEL = 'webhooks_endpoints_changed';

/**
 * Tells open admin pages that endpoints changed: one LISTEN connection for the whole process, fanned
 * out to every server-sent-events stream. A burst of changes (a bulk `update` in SQL) becomes one
 * message per `coalesceMs`, and a reconnect counts as a change, since NOTIFYs sent while the
 * connection was down are lost.
 */
export class LiveUpdates implements AsyncDisposable {
  readonly #listeners = new Set<() => void>();
  readonly #connection: ListenConnection | null;
  readonly #coalesceMs: number;
  readonly #closed = new AbortController();
  #timer: NodeJS.Timeout | undefined;

  constructor(options: { databaseUrl: string; logger: Logger; coalesceMs?: number } | null) {
    this.#coalesceMs = options?.coalesceMs ?? 150;
    this.#connection =
      options === null
        ? null
        : new ListenConnection({
            databaseUrl: options.databaseUrl,
            channels: [ENDPOINTS_CHANNEL],
            applicationName: 'dialer-webhooks-admin-listen',
            logger: options.logger,
          });
    this.#connection?.on('notification', () => this.changed());
    this.#connection?.on('connected', ({ reconnected }) => {
      if (reconnected) this.changed();
    });
  }

  async start(): Promise<void> {
    await this.#connection?.start();
  }

  /** Calls `fn` after each (coalesced) change until the returned function is called. */
  subscribe(fn: () => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /** Aborted by `stop()`: open event streams end with it, so the server can close. */
  get closed(): AbortSignal {
    return this.#closed.signal;
  }

  get subscribers(): number {
    return this.#listeners.size;
  }

  /** Announces a change (the LISTEN connection calls it; tests may too). */
  changed(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      for (const fn of this.#listeners) fn();
    }, this.#coalesceMs);
  }

  async stop(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#listeners.clear();
    this.#closed.abort();
    await this.#connection?.stop();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
