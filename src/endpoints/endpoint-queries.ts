import { sql, type Selectable } from 'kysely';
import type { Db, EndpointsTable } from '../db/database.ts';
import type { Endpoint } from './endpoint.ts';

// Writes go through webhooks.validate_endpoint (a before-row trigger): a rejected row raises
// SQLSTATE 23514 (check_violation) with a message naming the problem and a hint naming the fix.
// Every statement on the table also sends NOTIFY webhooks_endpoints_changed on commit.

const ENDPOINT_COLUMNS = [
  'id',
  'name',
  'url',
  'secret',
  'previous_secret',
  'previous_secret_expires_at',
  'event_types',
  'enabled',
] as const;

type EndpointRow = Pick<Selectable<EndpointsTable>, (typeof ENDPOINT_COLUMNS)[number]>;

const UUID_RE = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

function toEndpoint(row: EndpointRow): Endpoint {
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

/**
 * The endpoint with this id whether enabled or not, or null when there is none (deleted, or `id`
 * is not a UUID at all). The retry path uses it to re-check an endpoint before an attempt.
 */
export async function findEndpointById(db: Db, id: string): Promise<Endpoint | null> {
  if (!UUID_RE.test(id)) return null;
  const row = await db.selectFrom('webhooks.endpoints').select(ENDPOINT_COLUMNS).where('id', '=', id).executeTakeFirst();
  return row === undefined ? null : toEndpoint(row);
}

/**
 * Disables an enabled endpoint and records why (e.g. `410 Gone from the endpoint`). Returns
 * false when there was nothing to do: no such endpoint, or already disabled (an admin's reason
 * is kept).
 */
export async function disableEndpoint(db: Db, id: string, reason: string): Promise<boolean> {
  if (!UUID_RE.test(id)) return false;
  const result = await db
    .updateTable('webhooks.endpoints')
    .set({ enabled: false, disabled_reason: reason })
    .where('id', '=', id)
    .where('enabled', '=', true)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

export interface EndpointSettings {
  /** Reject plain-http endpoint URLs (REQUIRE_HTTPS); the validation trigger reads it. */
  requireHttps: boolean;
}

/** Writes the installation settings the validation trigger enforces; unchanged values are left alone. */
export async function writeSettings(db: Db, settings: EndpointSettings): Promise<void> {
  const value = settings.requireHttps ? 'true' : 'false';
  await db
    .insertInto('webhooks.settings')
    .values({ key: 'require_https', value })
    .onConflict((oc) =>
      oc
        .column('key')
        .doUpdateSet({ value, updated_at: sql`now()` })
        .where('webhooks.settings.value', 'is distinct from', value),
    )
    .execute();
}

export interface NewEndpoint {
  name: string;
  url: string;
  eventTypes: readonly string[];
  /** Omit to have the database generate a `whsec_` secret. */
  secret?: string;
  description?: string | null;
}

/**
 * Creates an endpoint and returns it as stored (name trimmed, event types canonical, secret
 * generated when omitted). Rejections by the validation trigger surface as pg errors with
 * code 23514 and a message and hint for the admin.
 */
export async function insertEndpoint(db: Db, endpoint: NewEndpoint): Promise<Endpoint> {
  const row = await db
    .insertInto('webhooks.endpoints')
    .values({
      name: endpoint.name,
      url: endpoint.url,
      event_types: [...endpoint.eventTypes],
      ...(endpoint.secret === undefined ? {} : { secret: endpoint.secret }),
      description: endpoint.description ?? null,
    })
    .returning(ENDPOINT_COLUMNS)
    .executeTakeFirstOrThrow();
  return toEndpoint(row);
}
