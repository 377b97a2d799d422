import { EventEmitter } from 'node:events';
import pg from 'pg';
import type { Logger } from 'pino';
import { RECONNECT_BACKOFF } from '../config.ts';
import { TransientError, UsageError } from '../errors.ts';
import { backoffDelay, sleep } from '../util/backoff.ts';

/** Lifecycle events of a LISTEN connection. */
export interface ListenConnectionEvents {
  /** A notification arrived on one of the channels. */
  notification: [{ channel: string; payload: string | undefined }];
  /**
   * LISTEN is in place: at start and after every reconnect. After a reconnect (`reconnected`)
   * notifications sent while the connection was down are gone: the owner should re-read what
   * they would have announced.
   */
  connected: [{ reconnected: boolean }];
  /** The connection failed or was lost; a reconnect is scheduled in `retryInMs`. */
  lost: [{ error: unknown; retryInMs: number }];
}

export interface ListenConnectionOptions {
  databaseUrl: string;
  /** Channels to LISTEN on. */
  channels: readonly string[];
  /** application_name of the connection (shows in pg_stat_activity). */
  applicationName: string;
  /** Used as given: the caller scopes it. */
  logger: Logger;
  /** Reconnect backoff: doubles from `initialMs` up to `maxMs`, with jitter. Default 100 ms to 10 s. */
  reconnectBackoff?: { initialMs: number; maxMs: number };
  /** Log lines: at debug once listening, at warn when lost. Defaults name the channels. */
  messages?: { listening?: string; lost?: string };
}

/**
 * A dedicated Postgres connection that LISTENs on some channels and reconnects with backoff when
 * it is lost. NOTIFY is a hint: owners treat `connected` after a reconnect as "something may have
 * changed" and keep a periodic safety net of their own.
 *
 * Invariants:
 * - `start()` resolves once LISTEN is in place, or rejects with nothing left open.
 * - After `start()`, a lost connection is replaced until `stop()`; at most one connection (and one
 *   reconnect timer) exists at a time.
 * - `stop()` closes everything and can be called twice.
 */
export class ListenConnection extends EventEmitter<ListenConnectionEvents> implements AsyncDisposable {
  readonly #databaseUrl: string;
  readonly #channels: readonly string[];
  readonly #applicationName: string;
  readonly #logger: Logger;
  readonly #backoff: { initialMs: number; maxMs: number };
  readonly #listeningMessage: string;
  readonly #lostMessage: string;

  #stopped = false;
  #stopping: Promise<void> | null = null;
  #client: pg.Client | null = null;
  #listening = false;
  #connecting: Promise<void> | null = null;
  readonly #closing = new Set<Promise<void>>();
  /** Aborted by stop(): ends a reconnect wait at once. */
  readonly #stopSignal = new AbortController();
  #reconnecting: Promise<void> | null = null;

  constructor(options: ListenConnectionOptions) {
    super();
    if (options.channels.length === 0) throw new UsageError('ListenConnection needs at least one channel');
    this.#databaseUrl = options.databaseUrl;
    this.#channels = [...options.channels];
    this.#applicationName = options.applicationName;
    this.#logger = options.logger;
    this.#backoff = options.reconnectBackoff ?? RECONNECT_BACKOFF;
    const names = this.#channels.join(', ');
    this.#listeningMessage = options.messages?.listening ?? `listening on ${names}`;
    this.#lostMessage = options.messages?.lost ?? `LISTEN connection (${names}) lost; reconnecting`;
  }

  /** True while the connection is up and listening (readiness). */
  get listening(): boolean {
    return this.#listening;
  }

  /** Connects and LISTENs. Rejects, leaving nothing open, if that fails. */
  async start(): Promise<void> {
    if (this.#stopped) throw new UsageError('ListenConnection was stopped');
    this.#connecting = this.#connect(false);
    try {
      await this.#connecting;
    } finally {
      this.#connecting = null;
    }
  }

  /** Stops reconnecting and closes the connection. Safe to call twice. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  async #stop(): Promise<void> {
    this.#stopped = true;
    this.#stopSignal.abort();
    await this.#reconnecting;
    await this.#connecting?.catch(() => {});
    const client = this.#client;
    this.#client = null;
    this.#listening = false;
    if (client !== null) this.#close(client);
    await Promise.all([...this.#closing]);
  }

  async #connect(reconnected: boolean): Promise<void> {
    const client = new pg.Client({
      connectionString: this.#databaseUrl,
      application_name: this.#applicationName,
      connectionTimeoutMillis: 10_000,
      // Keeps idle NATs and firewalls from silently dropping a connection that only listens,
      // and lets the OS notice a dead peer.
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
    });
    client.on('notification', (message) => {
      if (!this.#channels.includes(message.channel)) return;
      this.emit('notification', { channel: message.channel, payload: message.payload });
    });
    // Errors while connecting reject connect() or the LISTEN query; these handlers only act once
    // the connection is established (`#listening`) and always keep an 'error' listener attached.
    client.on('error', (error) => this.#onLost(client, error));
    client.on('end', () => this.#onLost(client, new TransientError('LISTEN connection ended')));
    this.#client = client;
    try {
      await client.connect();
      for (const channel of this.#channels) await client.query(`LISTEN ${client.escapeIdentifier(channel)}`);
    } catch (err) {
      if (this.#client === client) this.#client = null;
      this.#close(client);
      throw err;
    }
    if (this.#stopped || this.#client !== client) {
      this.#close(client);
      return;
    }
    this.#listening = true;
    this.#logger.debug(this.#listeningMessage);
    this.emit('connected', { reconnected });
  }

  #onLost(client: pg.Client, error: unknown): void {
    if (client !== this.#client || !this.#listening) return;
    this.#listening = false;
    this.#client = null;
    this.#close(client);
    if (this.#stopped) return;
    this.#scheduleReconnect(error);
  }

  #scheduleReconnect(error: unknown): void {
    this.#reconnecting ??= this.#reconnect(error).finally(() => {
      this.#reconnecting = null;
    });
  }

  /** Reconnects until it works or stop() is called; the backoff starts over after each loss. */
  async #reconnect(error: unknown): Promise<void> {
    // Equal jitter, so dispatchers that lost the same server do not all come back at once.
    const policy = { ...this.#backoff, jitter: true };
    for (let failures = 1; !this.#stopped; failures++) {
      const retryInMs = backoffDelay(failures, policy);
      this.#logger.warn({ err: error, retryInMs }, this.#lostMessage);
      this.emit('lost', { error, retryInMs });
      try {
        await sleep(retryInMs, this.#stopSignal.signal);
      } catch {
        return; // stopped
      }
      this.#connecting = this.#connect(true);
      try {
        await this.#connecting;
        return;
      } catch (err) {
        error = err;
      } finally {
        this.#connecting = null;
      }
    }
  }

  #close(client: pg.Client): void {
    client.removeAllListeners('notification');
    const closing = client.end().catch(() => {});
    this.#closing.add(closing);
    void closing.finally(() => this.#closing.delete(closing));
  }
}
