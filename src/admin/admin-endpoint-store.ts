import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import type { Endpoint } from '../endpoints/endpoint.ts';
import { WebhooksError } from '../errors.ts';

// The endpoint store as the web admin uses it, written to the contract of the shared store
// (src/endpoints/endpoint-store.ts, being built): camelCase records, optimistic concurrency on
// updated_at, validation errors classified by SQLSTATE and the pg error's `column`. When that
// module lands, this file becomes a re-export of it.

/** An endpoint row as admins see it. */
export type EndpointRecord = Endpoint & {
  disabledReason: string | null;
  description: string | null;
  createdAt: Date;
  updatedAt: Date;
};

/** The endpoint was changed by someone else since the form was loaded (its updated_at differs). */
export class EndpointChangedError extends WebhooksError {
  override readonly code = 'WH_ENDPOINT_CHANGED';
  readonly current: EndpointRecord;
  constructor(current: EndpointRecord) {
    super(`endpoint ${current.name} was changed at ${current.updatedAt.toISOString()} by someone else`);
    this.current = current;
  }
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isEndpointId(text: string): boolean {
  return UUID_RE.test(text);
}

interface Row {
  id: string;
  name: string;
  url: string;
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: Date | string | null;
  event_types: string[];
  enabled: boolean;
  disabled_reason: string | null;
  description: string | null;
  created_at: Date | string;
  updated_at: Date | string;
}

function toRecord(row: Row): EndpointRecord {
  const expires = row.previous_secret_expires_at;
  return {
    id: row.id,
    name: row.name,
    url: row.url,
    secret: row.secret,
    previousSecret: row.previous_secret,
    previousSecretExpiresAt: expires === null ? null : new Date(expires).getTime(),
    eventTypes: Object.freeze([...row.event_types]),
    enabled: row.enabled,
    disabledReason: row.disabled_reason,
    description: row.description,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  };
}

export async function listEndpoints(db: Db): Promise<EndpointRecord[]> {
  const rows = await db.selectFrom('webhooks.endpoints').selectAll().orderBy('name').orderBy('id').execute();
  return rows.map(toRecord);
}

export async function findEndpointById(db: Db, id: string): Promise<EndpointRecord | null> {
  if (!isEndpointId(id)) return null;
  const row = await db.selectFrom('webhooks.endpoints').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? toRecord(row) : null;
}

export interface NewEndpoint {
  name: string;
  url: string;
  eventTypes: readonly string[];
  secret?: string;
  enabled?: boolean;
  description?: string | null;
}

export async function createEndpoint(db: Db, e: NewEndpoint): Promise<EndpointRecord> {
  const row = await db
    .insertInto('webhooks.endpoints')
    .values({
      name: e.name,
      url: e.url,
      event_types: [...e.eventTypes],
      enabled: e.enabled ?? true,
      description: e.description ?? null,
      ...(e.secret === undefined ? {} : { secret: e.secret }),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return toRecord(row);
}

export interface EndpointChanges {
  name?: string;
  url?: string;
  eventTypes?: readonly string[];
  description?: string | null;
  enabled?: boolean;
}

/**
 * Applies the changes; null when the endpoint is gone. With `expectedUpdatedAt`, a row changed
 * since then is left alone and `EndpointChangedError` carries what it is now.
 */
export async function updateEndpoint(
  db: Db,
  id: string,
  changes: EndpointChanges,
  options: { expectedUpdatedAt?: Date } = {},
): Promise<EndpointRecord | null> {
  if (!isEndpointId(id)) return null;
  let q = db
    .updateTable('webhooks.endpoints')
    .set({
      ...(changes.name === undefined ? {} : { name: changes.name }),
      ...(changes.url === undefined ? {} : { url: changes.url }),
      ...(changes.eventTypes === undefined ? {} : { event_types: [...changes.eventTypes] }),
      ...(changes.description === undefined ? {} : { description: changes.description }),
      ...(changes.enabled === undefined ? {} : { enabled: changes.enabled }),
    })
    .where('id', '=', id);
  const expected = options.expectedUpdatedAt;
  // Compared in milliseconds: that is what a form round-trips (updated_at has microseconds).
  if (expected !== undefined) q = q.where(sql<boolean>`date_trunc('milliseconds', updated_at) = ${expected}::timestamptz`);
  const row = await q.returningAll().executeTakeFirst();
  if (row) return toRecord(row);
  const current = await findEndpointById(db, id);
  if (current !== null && expected !== undefined) throw new EndpointChangedError(current);
  return current;
}

export async function setEndpointEnabled(
  db: Db,
  id: string,
  enabled: boolean,
  reason: string | null,
): Promise<{ endpoint: EndpointRecord; changed: boolean } | null> {
  if (!isEndpointId(id)) return null;
  const row = await db
    .updateTable('webhooks.endpoints')
    .set(enabled ? { enabled: true } : { enabled: false, disabled_reason: reason })
    .where('id', '=', id)
    .where('enabled', '=', !enabled)
    .returningAll()
    .executeTakeFirst();
  if (row) return { endpoint: toRecord(row), changed: true };
  const current = await findEndpointById(db, id);
  return current ? { endpoint: current, changed: false } : null;
}

export async function deleteEndpoint(db: Db, id: string): Promise<boolean> {
  if (!isEndpointId(id)) return false;
  const result = await db.deleteFrom('webhooks.endpoints').where('id', '=', id).executeTakeFirst();
  return result.numDeletedRows > 0n;
}

export async function rotateEndpointSecret(db: Db, id: string, overlapSeconds: number): Promise<EndpointRecord> {
  await sql`select webhooks.rotate_secret(${id}::uuid, make_interval(secs => ${overlapSeconds}))`.execute(db);
  return toRecord(await db.selectFrom('webhooks.endpoints').selectAll().where('id', '=', id).executeTakeFirstOrThrow());
}

/** What a rejected write means for a form: the field it concerns (when the database says), the message and hint. */
export interface EndpointValidationError {
  field: string | null;
  message: string;
  hint: string | null;
}

const FIELDS = new Set(['name', 'url', 'event_types', 'secret']);

/** Classifies a rejection by the validation trigger or the unique name, by SQLSTATE and `column`; null for anything else. */
export function endpointValidationError(err: unknown): EndpointValidationError | null {
  if (!(err instanceof Error)) return null;
  const e = err as Error & { code?: unknown; column?: unknown; hint?: unknown; constraint?: unknown };
  if (e.code === '23505') {
    return { field: 'name', message: 'Another endpoint already has this name.', hint: 'Endpoint names are unique; choose another name.' };
  }
  if (e.code !== '23514') return null;
  const column = typeof e.column === 'string' && FIELDS.has(e.column) ? e.column : null;
  return {
    field: column,
    message: e.message.replace(/^webhooks\.endpoints: /, ''),
    hint: typeof e.hint === 'string' ? e.hint : null,
  };
}
