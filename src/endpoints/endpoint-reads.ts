import type { Selectable } from 'kysely';
import type { Db, EndpointsTable } from '../db/database.ts';
import { toEndpointHeaders } from './endpoint-headers.ts';
import { isEndpointId, type Endpoint, type EndpointRecord } from './endpoint.ts';

// Reads of webhooks.endpoints. The dispatcher's cache reads only the columns it needs
// (`Endpoint`); the CLI and the web admin read whole records.

/** The columns behind `Endpoint`, for the cache's periodic full reloads. */
const ENDPOINT_COLUMNS = [
  'id',
  'name',
  'url',
  'secret',
  'previous_secret',
  'previous_secret_expires_at',
  'event_types',
  'enabled',
  'filter',
  'ordering',
  'headers',
  'max_per_second',
  'max_in_flight',
] as const;

type EndpointRow = Pick<Selectable<EndpointsTable>, (typeof ENDPOINT_COLUMNS)[number]>;
export type EndpointRecordRow = Selectable<EndpointsTable>;

export function toEndpoint(row: EndpointRow): Endpoint {
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
    filter: row.filter ?? null,
    ordering: row.ordering,
    headers: toEndpointHeaders(row.headers),
    maxPerSecond: row.max_per_second === null ? null : Number(row.max_per_second),
    maxInFlight: row.max_in_flight,
  };
}

/** A whole row as a record. Every new column of webhooks.endpoints is mapped here. */
export function toEndpointRecord(row: EndpointRecordRow): EndpointRecord {
  return {
    ...toEndpoint(row),
    disabledReason: row.disabled_reason,
    description: row.description,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  };
}

/** Every enabled endpoint, oldest first (the stable order of the endpoint index). */
export async function findEnabledEndpoints(db: Db): Promise<Endpoint[]> {
  const rows = await db
    .selectFrom('webhooks.endpoints')
    .select(ENDPOINT_COLUMNS)
    .where('enabled', '=', true)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  return rows.map(toEndpoint);
}

/** Every endpoint, by name. */
export async function listEndpoints(db: Db): Promise<EndpointRecord[]> {
  const rows = await db.selectFrom('webhooks.endpoints').selectAll().orderBy('name').execute();
  return rows.map(toEndpointRecord);
}

/**
 * The endpoint with this id whether enabled or not, or null when there is none (deleted, or `id`
 * is not a UUID at all). The retry path uses it to re-check an endpoint before an attempt.
 */
export async function findEndpointById(db: Db, id: string): Promise<EndpointRecord | null> {
  if (!isEndpointId(id)) return null;
  const row = await db.selectFrom('webhooks.endpoints').selectAll().where('id', '=', id).executeTakeFirst();
  return row === undefined ? null : toEndpointRecord(row);
}

/** The endpoints with these ids, by id (ids that name none are left out). */
export async function findEndpointsById(db: Db, ids: readonly string[]): Promise<Map<string, EndpointRecord>> {
  const valid = ids.filter(isEndpointId);
  if (valid.length === 0) return new Map();
  const rows = await db.selectFrom('webhooks.endpoints').selectAll().where('id', 'in', valid).execute();
  return new Map(rows.map((r) => [r.id, toEndpointRecord(r)]));
}

/** The endpoint with this id, or else with this name (trimmed, as names are stored); null when there is none. */
export async function findEndpoint(db: Db, idOrName: string): Promise<EndpointRecord | null> {
  const byId = await findEndpointById(db, idOrName);
  if (byId) return byId;
  const row = await db.selectFrom('webhooks.endpoints').selectAll().where('name', '=', idOrName.trim()).executeTakeFirst();
  return row === undefined ? null : toEndpointRecord(row);
}
