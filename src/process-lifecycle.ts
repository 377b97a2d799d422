import type { Logger } from 'pino';
import { ConfigError } from './errors.ts';

/**
 * What the process entry points (src/main.ts, src/admin/admin-main.ts) share: the only code
 * besides them that touches `process`, so both handle configuration errors and signals alike.
 */

/** `load()`'s configuration, or exit code 2 after printing a configuration error as `program`. */
export function configOrExitCode<T>(program: string, load: () => T): T | 2 {
  try {
    return load();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${program}: configuration error: ${err.message}\n`);
    return 2;
  }
}

export interface StopOnSignalOptions {
  logger: Logger;
  /** Ends the process's work; its rejection makes the exit code 1. */
  stop: () => Promise<void>;
  /** Log lines: after the first signal (`signal received; ${stopping}`) and when `stop` rejects. */
  messages: { stopping: string; failed: string };
  /** With it, a stop that takes longer exits with code 1 (the message names the setting). */
  forceExit?: { afterMs: number; message: string };
}

/**
 * Resolves with the exit code once SIGTERM or SIGINT has stopped the work: 0, or 1 when the stop
 * failed. A second signal exits at once (130 after SIGINT, 143 after SIGTERM).
 */
export function stopOnSignal(options: StopOnSignalOptions): Promise<number> {
  const { logger, messages, forceExit } = options;
  return new Promise<number>((resolve) => {
    let signalled = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (signalled) {
        logger.warn({ signal }, 'second signal: exiting without finishing the shutdown');
        process.exit(signal === 'SIGINT' ? 130 : 143);
      }
      signalled = true;
      logger.info({ signal }, `signal received; ${messages.stopping}`);
      if (forceExit) {
        setTimeout(() => {
          logger.error(forceExit.message);
          process.exit(1);
        }, forceExit.afterMs).unref();
      }
      options.stop().then(
        () => resolve(0),
        (err: unknown) => {
          logger.error({ err }, messages.failed);
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}
