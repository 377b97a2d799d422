import { WebhooksError } from '../errors.ts';
import type { EndpointRecord } from './endpoint.ts';

/**
 * An update made with `expectedUpdatedAt` found the row changed since it was read (in SQL, the
 * CLI or another browser tab) and wrote nothing. `current` is the row as it is now; the web
 * admin answers 409 with it.
 */
export class EndpointChangedError extends WebhooksError {
  override readonly code = 'WH_ENDPOINT_CHANGED';
  readonly current: EndpointRecord;
  constructor(current: EndpointRecord) {
    super(`endpoint "${current.name}" was changed at ${current.updatedAt.toISOString()} since it was read`);
    this.current = current;
  }
}

/** Why the database refused an endpoint write, for showing beside the form field it concerns. */
export interface EndpointValidationFailure {
  /** The column at fault (`url`, `name`, `event_types`, `secret`), when the database named it. */
  field: string | null;
  message: string;
  hint: string | null;
}

interface PgErrorFields {
  code?: unknown;
  column?: unknown;
  constraint?: unknown;
  hint?: unknown;
  message?: unknown;
}

const CHECK_VIOLATION = '23514';
const NOT_NULL_VIOLATION = '23502';
const UNIQUE_VIOLATION = '23505';
const NAME_UNIQUE_CONSTRAINT = 'endpoints_name_unique';
const ORDERING_CONSTRAINT = 'endpoints_ordering_check';

const text = (value: unknown): string | null => (typeof value === 'string' && value !== '' ? value : null);

/**
 * Classifies a rejected endpoint write by SQLSTATE, the pg error's `column` and the constraint
 * name (never by message text): a rejection of webhooks.validate_endpoint (23514, its `column`
 * naming the field), a missing value (23502), or a duplicate name (23505). Anything else
 * (connection loss, a bug) is null: the caller rethrows it.
 */
export function endpointValidationError(err: unknown): EndpointValidationFailure | null {
  if (typeof err !== 'object' || err === null) return null;
  const e = err as PgErrorFields;
  if (e.code === CHECK_VIOLATION || e.code === NOT_NULL_VIOLATION) {
    const field = text(e.column) ?? (e.constraint === ORDERING_CONSTRAINT ? 'ordering' : null);
    return { field, message: text(e.message) ?? 'the endpoint was rejected', hint: text(e.hint) };
  }
  if (e.code === UNIQUE_VIOLATION && e.constraint === NAME_UNIQUE_CONSTRAINT) {
    return { field: 'name', message: 'an endpoint with this name already exists', hint: 'Endpoint names are unique; choose another name.' };
  }
  return null;
}
