/** A job started by `startPeriodicJob`. */
export interface PeriodicJob {
  /** Ends the timer and aborts the signal a run in progress was given. Safe to call twice. */
  stop(): void;
}

export interface PeriodicJobOptions {
  /** One run; `signal` aborts when the job is stopped. */
  run: (signal: AbortSignal) => Promise<void>;
  intervalMs: number;
  /** A run failed; the job goes on and tries again at the next interval. Not called once stopped. */
  onError: (error: unknown) => void;
  /** Also run once now, without waiting for it. Default false (an owner that must see the first run succeed awaits it itself). */
  runNow?: boolean;
}

/**
 * Runs a maintenance job every `intervalMs` on an unref'd timer, so it never keeps the process
 * alive. Failures are data for `onError`, never unhandled rejections.
 */
export function startPeriodicJob(options: PeriodicJobOptions): PeriodicJob {
  const stopped = new AbortController();
  const tick = (): void =>
    void options.run(stopped.signal).catch((err: unknown) => {
      if (!stopped.signal.aborted) options.onError(err);
    });
  if (options.runNow) tick();
  const timer = setInterval(tick, options.intervalMs);
  timer.unref();
  return {
    stop: () => {
      stopped.abort();
      clearInterval(timer);
    },
  };
}
