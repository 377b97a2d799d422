/**
 * Error classes with a stable `code` per subclass, so callers branch on the code and never on
 * message text. Always pass `cause` when wrapping a foreign error.
 */
export class WebhooksError extends Error {
  readonly code: string = 'WH_ERROR';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A configuration value is missing or malformed; the message names the variable. */
export class ConfigError extends WebhooksError {
  override readonly code = 'WH_CONFIG';
  readonly variable: string;
  constructor(variable: string, reason: string) {
    super(`${variable}: ${reason}`);
    this.variable = variable;
  }
}

/** A migration failed to apply. */
export class MigrationError extends WebhooksError {
  override readonly code = 'WH_MIGRATION';
}

/**
 * An input event that can never be processed (poison). It goes to the invalid topic with
 * `reason` as its metric label and header.
 */
export class InvalidEventError extends WebhooksError {
  override readonly code = 'WH_INVALID_EVENT';
  /** Short, bounded label: invalid_json, not_object, unknown_type, missing_field, ... */
  readonly reason: string;
  constructor(reason: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.reason = reason;
  }
}

/**
 * A dependency is down or slow (schema registry, Postgres, broker). The work is retried after a
 * backoff; it is never skipped and never committed past.
 */
export class TransientError extends WebhooksError {
  override readonly code = 'WH_TRANSIENT';
}

/** A component was used against its contract (started after stop, built without a required part). */
export class UsageError extends WebhooksError {
  override readonly code = 'WH_USAGE';
}

/**
 * Handling a message kept failing with an error nobody classified (a bug, data nothing expected):
 * after HANDLER_MAX_ATTEMPTS tries the message is quarantined to the invalid topic with
 * `reason`, so its partition moves on. `cause` is the last error.
 */
export class HandlerFailedError extends WebhooksError {
  override readonly code = 'WH_HANDLER_FAILED';
  readonly reason = 'handler_failed';
}
