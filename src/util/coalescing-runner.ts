/**
 * Runs a job one at a time on triggers that carry a reason, as the endpoint cache's reloads and the
 * redelivery watcher's sweeps need:
 * - runs never overlap; a trigger during a run queues exactly one more run (the first reason
 *   queued is kept), so no trigger is lost and bursts coalesce;
 * - the `debounced` reason opens a fixed window from its first trigger (not reset by later ones),
 *   so a steady stream of notifications cannot postpone the run indefinitely;
 * - `running` is cleared in the same synchronous step that finds nothing queued, so no trigger can
 *   fall between the two;
 * - a run that throws is reported to `onError` and the runner goes on (a queued trigger still
 *   runs), so one failed run never silences every later one.
 */
export class CoalescingRunner<R extends string> {
  readonly #run: (reason: R) => Promise<R | null>;
  readonly #debounceMs: number;
  readonly #debounced: R;
  readonly #onError: (error: unknown, reason: R) => void;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | null = null;
  #pending: R | null = null;
  #stopped = false;

  /**
   * `run` does the job once; it may name a reason to run again at once (e.g. a full batch),
   * which a queued trigger takes precedence over.
   */
  constructor(options: {
    run: (reason: R) => Promise<R | null>;
    debounceMs: number;
    debounced: R;
    /** A run threw; the runner goes on with what is queued. */
    onError: (error: unknown, reason: R) => void;
  }) {
    this.#run = options.run;
    this.#onError = options.onError;
    this.#debounceMs = options.debounceMs;
    this.#debounced = options.debounced;
  }

  request(reason: R): void {
    if (this.#stopped) return;
    if (reason === this.#debounced && this.#debounceMs > 0) {
      if (this.#timer !== undefined) return;
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#enqueue(reason);
      }, this.#debounceMs);
      return;
    }
    this.#enqueue(reason);
  }

  /** Resolves when the run in progress (and those queued behind it) are done. */
  async idle(): Promise<void> {
    await this.#running;
  }

  /** No further runs; waits for the one in progress. Safe to call twice. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#pending = null;
    await this.#running;
  }

  #enqueue(reason: R): void {
    if (this.#stopped) return;
    if (this.#running !== null) {
      this.#pending ??= reason;
      return;
    }
    this.#running = this.#drain(reason);
  }

  async #drain(first: R): Promise<void> {
    let reason: R | null = first;
    while (reason !== null) {
      let follow: R | null = null;
      try {
        follow = await this.#run(reason);
      } catch (err) {
        this.#onError(err, reason);
      }
      const next: R | null = this.#pending ?? follow;
      this.#pending = null;
      reason = this.#stopped ? null : next;
    }
    this.#running = null;
  }
}
