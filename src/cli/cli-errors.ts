import { WebhooksError } from '../errors.ts';

/**
 * The CLI's exit codes, a contract with scripts (printed by `--help`): 0 ok, 1 the operation
 * failed (not found, rejected, a test delivery that was not 2xx), 2 usage or configuration error,
 * 3 the database cannot be reached.
 */
export const EXIT = Object.freeze({ ok: 0, failed: 1, usage: 2, unreachable: 3 });

export const EXIT_CODES_HELP = `Exit codes:
  0  ok
  1  the operation failed (not found, rejected by the database, test delivery not 2xx)
  2  usage or configuration error
  3  cannot reach the database`;

/** Bad arguments; `usage` is the one-line usage of the command, printed after the message. */
export class UsageError extends WebhooksError {
  override readonly code = 'WH_CLI_USAGE';
  readonly usage: string | null;
  readonly helpCommand: string | null;
  constructor(message: string, usage: string | null = null, helpCommand: string | null = null) {
    super(message);
    this.usage = usage;
    this.helpCommand = helpCommand;
  }
}

/** The command ran but could not do what was asked (no such endpoint, delivery not 2xx …). */
export class CommandFailedError extends WebhooksError {
  override readonly code = 'WH_CLI_FAILED';
  readonly hint: string | null;
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.hint = options.hint ?? null;
  }
}

/** The database did not answer (refused, unknown host, timed out, authentication failed …). */
export class DatabaseUnreachableError extends WebhooksError {
  override readonly code = 'WH_CLI_DB_UNREACHABLE';
}
