/**
 * Everything the campaign started and must stop, also when it fails or is interrupted: stop
 * actions run in reverse order on `runAll()`, on SIGINT/SIGTERM and (synchronously, best effort)
 * on process exit.
 */
export class Cleanup {
  readonly #actions: Array<{ what: string; run: () => Promise<void>; sync: () => void }> = [];
  #ran = false;
  readonly #onSignal = (signal: NodeJS.Signals): void => {
    process.stderr.write(`chaos: ${signal}: stopping the private services\n`);
    void this.runAll().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  readonly #onExit = (): void => {
    for (const a of [...this.#actions].reverse()) {
      try {
        a.sync();
      } catch {
        // Best effort at exit: the asynchronous path normally ran already.
      }
    }
  };

  constructor() {
    process.once('SIGINT', this.#onSignal);
    process.once('SIGTERM', this.#onSignal);
    process.once('exit', this.#onExit);
  }

  /** `run` stops it gracefully; `sync` is the last resort at process exit (e.g. a SIGKILL). */
  add(what: string, run: () => Promise<void>, sync: () => void): void {
    this.#actions.push({ what, run, sync });
  }

  async runAll(): Promise<void> {
    if (this.#ran) return;
    this.#ran = true;
    for (const a of [...this.#actions].reverse()) {
      await a.run().catch((err: unknown) => process.stderr.write(`chaos: cleanup of ${a.what} failed: ${String(err)}\n`));
    }
    this.#actions.length = 0;
    process.off('SIGINT', this.#onSignal);
    process.off('SIGTERM', this.#onSignal);
    process.off('exit', this.#onExit);
  }
}
