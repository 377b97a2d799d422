import { UsageError } from '../errors.ts';
import { CoalescingRunner } from '../util/coalescing-runner.ts';
import { ListenConnection, type ListenConnectionOptions } from './listen-connection.ts';

/** Why a notified job runs, besides the owner's own reasons. */
export type TriggerReason = 'notify' | 'reconnect' | 'interval';

/** The lifecycle events the owner of a notified job re-emits, for metrics and tests. */
export interface NotifiedJobEvents {
  /** A notification arrived (a run is requested; several may share one run). */
  notification: [];
  /** The LISTEN connection is up (at start and after every reconnect). */
  listenerConnected: [];
  /** The LISTEN connection failed or was lost; a reconnect is scheduled in `retryInMs`. */
  listenerError: [{ error: unknown; retryInMs: number }];
}

export interface NotifiedJobOptions<R extends string> {
  /** Names the owner in usage errors (`EndpointCache.start() called twice`). */
  owner: string;
  listen: ListenConnectionOptions;
  /** One run of the job; it may name a reason to run again at once (see CoalescingRunner). */
  run: (reason: R | TriggerReason) => Promise<R | TriggerReason | null>;
  /** Window in which a burst of notifications shares one run, ms. */
  debounceMs: number;
  /** A run threw; the job goes on. */
  onError: (error: unknown, reason: R | TriggerReason) => void;
  /** Period of the safety-net run, ms (the owner checks it is positive). */
  intervalMs: number;
  /** Aborting it stops the job, as `stop()` does. */
  signal?: AbortSignal | undefined;
  /** Where the LISTEN lifecycle is re-emitted (the owner). */
  events: { emit<K extends keyof NotifiedJobEvents>(event: K, ...args: NotifiedJobEvents[K]): unknown };
  /** Runs once LISTEN is in place, before the interval starts; a rejection stops the job and rejects `start()`. */
  onStart?: () => Promise<void> | void;
  /** The first step of `stop()`: the owner clears timers of its own. */
  onStop?: () => void;
}

/**
 * A job run one at a time when Postgres NOTIFYs (`notify`), after the LISTEN connection
 * reconnects (`reconnect`: notifications sent while it was down reached nobody), and on an
 * interval (`interval`: the safety net for a lost notification), as the endpoint cache's reloads
 * and the redelivery watcher's sweeps are. NOTIFY is a hint; the job re-reads the truth.
 *
 * Invariants: LISTEN is in place before `onStart` (so nothing committed after it is missed);
 * `start()` rejects with nothing left open; `stop()` ends the timers, waits for the run in
 * progress, closes the connection, and can be called twice.
 */
export class NotifiedJob<R extends string> implements AsyncDisposable {
  readonly #options: NotifiedJobOptions<R>;
  readonly #runner: CoalescingRunner<R | TriggerReason>;
  readonly #listen: ListenConnection;
  #intervalTimer: NodeJS.Timeout | undefined;
  #started = false;
  #stopped = false;
  #stopping: Promise<void> | null = null;
  readonly #onAbort = (): void => void this.stop();

  constructor(options: NotifiedJobOptions<R>) {
    this.#options = options;
    this.#runner = new CoalescingRunner<R | TriggerReason>({
      run: options.run,
      debounceMs: options.debounceMs,
      debounced: 'notify',
      onError: options.onError,
    });
    const { events } = options;
    this.#listen = new ListenConnection(options.listen);
    this.#listen.on('notification', () => {
      this.#runner.request('notify');
      events.emit('notification');
    });
    this.#listen.on('connected', ({ reconnected }) => {
      events.emit('listenerConnected');
      if (reconnected) this.#runner.request('reconnect');
    });
    this.#listen.on('lost', (e) => events.emit('listenerError', e));
  }

  /** True while the LISTEN connection is up (readiness). */
  get listening(): boolean {
    return this.#listen.listening;
  }

  /** True from the first call of `stop()` (or the signal's abort) on. */
  get stopped(): boolean {
    return this.#stopped;
  }

  /** Requests a run (coalesced with one in progress or queued). Ignored once stopped. */
  request(reason: R | TriggerReason): void {
    this.#runner.request(reason);
  }

  /** Requests a run and resolves when it, and any queued behind it, are done (at once when stopped). For tests and tools. */
  async runNow(reason: R | TriggerReason): Promise<void> {
    if (this.#stopped) return;
    this.#runner.request(reason);
    await this.#runner.idle();
  }

  /** Resolves when the run in progress, and those queued behind it, are done. */
  idle(): Promise<void> {
    return this.#runner.idle();
  }

  /** LISTENs, runs `onStart`, then starts the interval. Rejects, leaving nothing open, if either fails. */
  async start(): Promise<void> {
    const { owner, signal } = this.#options;
    if (this.#started) throw new UsageError(`${owner}.start() called twice`);
    if (this.#stopped) throw new UsageError(`${owner} was stopped before it started`);
    this.#started = true;
    signal?.throwIfAborted();
    signal?.addEventListener('abort', this.#onAbort, { once: true });
    try {
      await this.#listen.start();
      await this.#options.onStart?.();
    } catch (err) {
      await this.stop();
      throw err;
    }
    if (this.#stopped) return;
    this.#intervalTimer = setInterval(() => this.#runner.request('interval'), this.#options.intervalMs);
  }

  stop(): Promise<void> {
    return (this.#stopping ??= this.#stopOnce());
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  async #stopOnce(): Promise<void> {
    this.#stopped = true;
    this.#options.signal?.removeEventListener('abort', this.#onAbort);
    clearInterval(this.#intervalTimer);
    this.#options.onStop?.();
    const runs = this.#runner.stop();
    await this.#listen.stop();
    await runs;
  }
}
