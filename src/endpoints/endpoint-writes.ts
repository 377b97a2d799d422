import { sql } from 'kysely';
import type { Db, EndpointOrdering } from '../db/database.ts';
import { isEndpointId, type EndpointRecord } from './endpoint.ts';
import { EndpointChangedError } from './endpoint-errors.ts';
import { findEndpointById, toEndpointRecord } from './endpoint-reads.ts';
import { isEmptyHeaderChange, type EndpointHeaders, type HeaderChanges } from './endpoint-headers.ts';

// Writes of webhooks.endpoints. Each goes through webhooks.validate_endpoint (a before-row
// trigger): a rejected row raises SQLSTATE 23514 with a message naming the problem, a hint naming
// the fix and (from migration 0004) the column; endpointValidationError classifies it. Every
// statement on the table also sends NOTIFY webhooks_endpoints_changed on commit, so running
// dispatchers pick a change up at once.

export interface NewEndpoint {
  name: string;
  url: string;
  eventTypes: readonly string[];
  /** Omit to have the database generate a `whsec_` secret. */
  secret?: string;
  /** Default true. */
  enabled?: boolean;
  description?: string | null;
  /** Payload filter (JSON); omit or null for none. */
  filter?: unknown;
  /** Default `none`. */
  ordering?: EndpointOrdering;
  /** Extra request headers; omit for none. */
  headers?: EndpointHeaders;
  /** Requests per second; omit or null for unlimited. */
  maxPerSecond?: number | null;
  /** Requests in flight at once; omit or null for the service default. */
  maxInFlight?: number | null;
}

/**
 * Creates an endpoint and returns it as stored (name trimmed, event types canonical, secret
 * generated when omitted).
 */
export async function createEndpoint(db: Db, endpoint: NewEndpoint): Promise<EndpointRecord> {
  const row = await db
    .insertInto('webhooks.endpoints')
    .values({
      name: endpoint.name,
      url: endpoint.url,
      event_types: [...endpoint.eventTypes],
      ...(endpoint.secret === undefined ? {} : { secret: endpoint.secret }),
      ...(endpoint.enabled === undefined ? {} : { enabled: endpoint.enabled }),
      description: endpoint.description ?? null,
      ...(endpoint.filter === undefined ? {} : { filter: jsonb(endpoint.filter) }),
      ...(endpoint.ordering === undefined ? {} : { ordering: endpoint.ordering }),
      ...(endpoint.headers === undefined ? {} : { headers: jsonb(endpoint.headers) }),
      ...limitColumns(endpoint),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return toEndpointRecord(row);
}

/** Fields an update may change; omitted ones are left alone. */
export interface EndpointChanges {
  name?: string;
  url?: string;
  eventTypes?: readonly string[];
  description?: string | null;
  /** Payload filter (JSON); null removes it. */
  filter?: unknown;
  ordering?: EndpointOrdering;
  /** Headers to set, remove or clear; the others stay as stored. */
  headers?: HeaderChanges;
  /** Requests per second; null removes the limit. */
  maxPerSecond?: number | null;
  /** Requests in flight at once; null returns to the service default. */
  maxInFlight?: number | null;
  /** Disabling this way records no reason; use setEndpointEnabled to give one. */
  enabled?: boolean;
}

export interface UpdateOptions {
  /**
   * The `updatedAt` of the record the change was made on. When the row's `updated_at` differs
   * (someone changed it meanwhile) nothing is written and EndpointChangedError is thrown.
   */
  expectedUpdatedAt?: Date;
}

/** Applies the changes; returns the record as stored, or null when the endpoint is gone. */
export async function updateEndpoint(
  db: Db,
  id: string,
  changes: EndpointChanges,
  options: UpdateOptions = {},
): Promise<EndpointRecord | null> {
  if (!isEndpointId(id)) return null;
  const { expectedUpdatedAt } = options;
  let query = db
    .updateTable('webhooks.endpoints')
    .set({
      ...(changes.name === undefined ? {} : { name: changes.name }),
      ...(changes.url === undefined ? {} : { url: changes.url }),
      ...(changes.eventTypes === undefined ? {} : { event_types: [...changes.eventTypes] }),
      ...(changes.description === undefined ? {} : { description: changes.description }),
      ...(changes.enabled === undefined ? {} : { enabled: changes.enabled }),
      ...(changes.filter === undefined ? {} : { filter: jsonb(changes.filter) }),
      ...(changes.ordering === undefined ? {} : { ordering: changes.ordering }),
      ...(changes.headers === undefined || isEmptyHeaderChange(changes.headers) ? {} : { headers: headersAfter(changes.headers) }),
      ...limitColumns(changes),
    })
    .where('id', '=', id);
  if (expectedUpdatedAt !== undefined) {
    // updated_at has microseconds, a Date only milliseconds: compare at the Date's precision
    // (both sides truncate, as pg's Date parser does).
    query = query.where(sql<boolean>`date_trunc('milliseconds', updated_at) = ${expectedUpdatedAt}::timestamptz`);
  }
  const row = await query.returningAll().executeTakeFirst();
  if (row) return toEndpointRecord(row);
  const current = await findEndpointById(db, id);
  if (current && expectedUpdatedAt !== undefined) throw new EndpointChangedError(current);
  return current;
}

/**
 * Enables or disables an endpoint. Only a real change is written (no NOTIFY, no new updated_at
 * otherwise); returns the record and whether it changed, or null when the endpoint is gone.
 * Enabling clears `disabledReason` (the trigger does it).
 */
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
  if (row) return { endpoint: toEndpointRecord(row), changed: true };
  const current = await findEndpointById(db, id);
  return current ? { endpoint: current, changed: false } : null;
}

/**
 * Disables an enabled endpoint and records why (e.g. `410 Gone from the endpoint`). Returns
 * false when there was nothing to do: no such endpoint, or already disabled (an admin's reason
 * is kept).
 */
export async function disableEndpoint(db: Db, id: string, reason: string): Promise<boolean> {
  if (!isEndpointId(id)) return false;
  const result = await db
    .updateTable('webhooks.endpoints')
    .set({ enabled: false, disabled_reason: reason })
    .where('id', '=', id)
    .where('enabled', '=', true)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/**
 * Deletes an endpoint; false when there was none. Its delivery log stays (deliveries keep the
 * endpoint id; the CLI and the admin show them without a name).
 */
export async function deleteEndpoint(db: Db, id: string): Promise<boolean> {
  if (!isEndpointId(id)) return false;
  const result = await db.deleteFrom('webhooks.endpoints').where('id', '=', id).executeTakeFirst();
  return result.numDeletedRows > 0n;
}

/**
 * Rotates the secret through `webhooks.rotate_secret` (the old secret stays valid for
 * `overlapSeconds`) and returns the new record. A missing endpoint raises the function's
 * no_data_found (P0002) error with its hint.
 */
export async function rotateEndpointSecret(db: Db, id: string, overlapSeconds: number): Promise<EndpointRecord> {
  await sql`select webhooks.rotate_secret(${id}::uuid, make_interval(secs => ${overlapSeconds}))`.execute(db);
  return toEndpointRecord(await db.selectFrom('webhooks.endpoints').selectAll().where('id', '=', id).executeTakeFirstOrThrow());
}

export interface EndpointSettings {
  /** Reject plain-http endpoint URLs (REQUIRE_HTTPS); the validation trigger reads it. */
  requireHttps: boolean;
  /**
   * DELIVERY_ALLOW_NETWORKS as canonical CIDRs: the trigger refuses URLs whose host is a literal
   * internal IP outside them. Omitted: left as stored.
   */
  allowNetworks?: readonly string[];
}

/** Writes the installation settings the validation trigger enforces; unchanged values are left alone. */
export async function writeSettings(db: Db, settings: EndpointSettings): Promise<void> {
  await writeSetting(db, 'require_https', settings.requireHttps ? 'true' : 'false');
  if (settings.allowNetworks !== undefined) await writeSetting(db, 'delivery_allow_networks', settings.allowNetworks.join(','));
}

async function writeSetting(db: Db, key: string, value: string): Promise<void> {
  await db
    .insertInto('webhooks.settings')
    .values({ key, value })
    .onConflict((oc) =>
      oc
        .column('key')
        .doUpdateSet({ value, updated_at: sql`now()` })
        .where('webhooks.settings.value', 'is distinct from', value),
    )
    .execute();
}

/**
 * The headers column after `change`, computed in the statement: the stored values are never read
 * into this process to merge them. Names are case-insensitive, so a set or a removal drops every
 * stored spelling of the name.
 */
function headersAfter(change: HeaderChanges) {
  const set = change.set ?? {};
  const drop = [...(change.remove ?? []), ...Object.keys(set)].map((n) => n.toLowerCase());
  const kept = change.clear === true ? sql<unknown>`'{}'::jsonb` : sql<unknown>`headers`;
  return sql<unknown>`(select coalesce(jsonb_object_agg(h.name, h.value), '{}'::jsonb)
      from jsonb_each(${kept}) as h(name, value)
     where lower(h.name) <> all(${drop}::text[])) || ${JSON.stringify(set)}::jsonb`;
}

/** The rate-limit columns of a create or an update; omitted fields are left out (unchanged). */
function limitColumns(e: { maxPerSecond?: number | null; maxInFlight?: number | null }) {
  return {
    ...(e.maxPerSecond === undefined ? {} : { max_per_second: e.maxPerSecond }),
    ...(e.maxInFlight === undefined ? {} : { max_in_flight: e.maxInFlight }),
  };
}

// pg sends a JS array as a Postgres array: a JSON value goes as its text, cast to jsonb.
function jsonb(value: unknown) {
  return value === null ? null : sql<unknown>`${JSON.stringify(value)}::jsonb`;
}
