import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import { CommandFailedError } from './cli-errors.ts';

// Admin reads and writes of webhooks.endpoints. Every write goes through the validation trigger
// (SQLSTATE 23514 with a message and a hint) and NOTIFYs the dispatchers on commit.

/**
 * A row of webhooks.endpoints as pg returns it (timestamptz as Date). Declared here because the
 * table type's `Generated<Timestamp>` columns are not unwrapped to Date by kysely.
 */
export interface EndpointRecord {
  id: string;
  name: string;
  url: string;
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: Date | null;
  event_types: string[];
  enabled: boolean;
  disabled_reason: string | null;
  description: string | null;
  created_at: Date;
  updated_at: Date;
}

function record<T>(row: T): EndpointRecord {
  return row as unknown as EndpointRecord;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(text: string): boolean {
  return UUID_RE.test(text);
}

/** Every endpoint, by name. */
export async function listEndpoints(db: Db): Promise<EndpointRecord[]> {
  const rows = await db.selectFrom('webhooks.endpoints').selectAll().orderBy('name').execute();
  return rows.map(record);
}

/** The endpoint with this id, or else this name; null when there is none. */
export async function findEndpoint(db: Db, ref: string): Promise<EndpointRecord | null> {
  if (isUuid(ref)) {
    const byId = await db.selectFrom('webhooks.endpoints').selectAll().where('id', '=', ref).executeTakeFirst();
    if (byId) return record(byId);
  }
  const byName = await db.selectFrom('webhooks.endpoints').selectAll().where('name', '=', ref.trim()).executeTakeFirst();
  return byName ? record(byName) : null;
}

/** Like `findEndpoint`, but a missing endpoint is a failure (exit 1) naming what was looked for. */
export async function findEndpointOrFail(db: Db, ref: string): Promise<EndpointRecord> {
  const endpoint = await findEndpoint(db, ref);
  if (!endpoint) {
    throw new CommandFailedError(`no endpoint named or with id ${JSON.stringify(ref)}`, {
      hint: 'List them with: dialer-webhooks endpoints list',
    });
  }
  return endpoint;
}

export interface EndpointInsert {
  name: string;
  url: string;
  eventTypes: readonly string[];
  /** Omit to have the database generate a `whsec_` secret. */
  secret?: string;
  enabled: boolean;
  description: string | null;
}

/** Inserts one endpoint and returns the stored row (canonical event types, generated secret). */
export async function createEndpoint(db: Db, e: EndpointInsert): Promise<EndpointRecord> {
  const row = await db
    .insertInto('webhooks.endpoints')
    .values({
      name: e.name,
      url: e.url,
      event_types: [...e.eventTypes],
      enabled: e.enabled,
      description: e.description,
      ...(e.secret === undefined ? {} : { secret: e.secret }),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return record(row);
}

export interface EndpointChanges {
  name?: string;
  url?: string;
  eventTypes?: readonly string[];
  description?: string | null;
}

/** Applies the given changes; returns the row as stored, or null if the endpoint is gone. */
export async function updateEndpoint(db: Db, id: string, changes: EndpointChanges): Promise<EndpointRecord | null> {
  const row = await db
    .updateTable('webhooks.endpoints')
    .set({
      ...(changes.name === undefined ? {} : { name: changes.name }),
      ...(changes.url === undefined ? {} : { url: changes.url }),
      ...(changes.eventTypes === undefined ? {} : { event_types: [...changes.eventTypes] }),
      ...(changes.description === undefined ? {} : { description: changes.description }),
    })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
  return row ? record(row) : null;
}

/**
 * Enables or disables an endpoint. Only a real change is written (no NOTIFY, no new updated_at
 * otherwise); returns the row and whether it changed, or null if the endpoint is gone. Enabling
 * clears `disabled_reason` (the trigger does it).
 */
export async function setEndpointEnabled(
  db: Db,
  id: string,
  enabled: boolean,
  reason: string | null,
): Promise<{ endpoint: EndpointRecord; changed: boolean } | null> {
  const row = await db
    .updateTable('webhooks.endpoints')
    .set(enabled ? { enabled: true } : { enabled: false, disabled_reason: reason })
    .where('id', '=', id)
    .where('enabled', '=', !enabled)
    .returningAll()
    .executeTakeFirst();
  if (row) return { endpoint: record(row), changed: true };
  const current = await db.selectFrom('webhooks.endpoints').selectAll().where('id', '=', id).executeTakeFirst();
  return current ? { endpoint: record(current), changed: false } : null;
}

/**
 * Rotates the secret through `webhooks.rotate_secret` (the old secret stays valid for `overlapSeconds`)
 * and returns the new row.
 */
export async function rotateEndpointSecret(db: Db, id: string, overlapSeconds: number): Promise<EndpointRecord> {
  await sql`select webhooks.rotate_secret(${id}::uuid, make_interval(secs => ${overlapSeconds}))`.execute(db);
  return record(await db.selectFrom('webhooks.endpoints').selectAll().where('id', '=', id).executeTakeFirstOrThrow());
}
