import { sql } from 'kysely';
import type { Db, DeliveryStatus } from '../db/database.ts';

// Reads of the delivery log shared by the CLI and the web admin, and the admin functions of migration 0002
// (webhooks.redeliver, webhooks.recover), called by name.

export const DELIVERY_STATUSES: readonly DeliveryStatus[] = ['pending', 'succeeded', 'retrying', 'dead', 'cancelled'];

export interface DeliverySummary {
  id: string;
  endpoint_id: string;
  /** Null when the endpoint was deleted. */
  endpoint_name: string | null;
  event_id: string;
  event_type: string;
  event_timestamp: Date | null;
  status: DeliveryStatus;
  status_reason: string | null;
  series: number;
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
  first_attempt_at: Date | null;
  last_attempt_at: Date | null;
  next_attempt_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export interface DeliveryFilter {
  endpointId?: string;
  eventType?: string;
  status?: DeliveryStatus;
  /** Deliveries created at or after this time. */
  since?: Date;
  limit: number;
}

// The row types say `Generated<Timestamp>` for created_at and updated_at, which kysely does not
// unwrap to Date; pg returns Date for every timestamptz, so the rows are cast to DeliverySummary.
function summaryQuery(db: Db) {
  return db
    .selectFrom('webhooks.deliveries as d')
    .leftJoin('webhooks.endpoints as e', 'e.id', 'd.endpoint_id')
    .select([
      'd.id',
      'd.endpoint_id',
      'e.name as endpoint_name',
      'd.event_id',
      'd.event_type',
      'd.event_timestamp',
      'd.status',
      'd.status_reason',
      'd.series',
      'd.attempts',
      'd.last_status_code',
      'd.last_error',
      'd.first_attempt_at',
      'd.last_attempt_at',
      'd.next_attempt_at',
      'd.created_at',
      'd.updated_at',
    ]);
}

/** Deliveries matching the filter, newest first. */
export async function listDeliveries(db: Db, filter: DeliveryFilter): Promise<DeliverySummary[]> {
  let q = summaryQuery(db);
  if (filter.endpointId !== undefined) q = q.where('d.endpoint_id', '=', filter.endpointId);
  if (filter.eventType !== undefined) q = q.where('d.event_type', '=', filter.eventType);
  // Retrying, dead and cancelled deliveries are all open (migration 0014): asked through
  // open_status, the deliveries_open_status index can serve them (and the planner estimates them
  // from that column's statistics). Pending ones are open only as redeliveries or parked, succeeded ones never.
  const status = filter.status;
  if (status === 'retrying' || status === 'dead' || status === 'cancelled') q = q.where('d.open_status', '=', status);
  else if (status !== undefined) q = q.where('d.status', '=', status);
  if (filter.since !== undefined) q = q.where(sql<boolean>`d.created_at >= ${filter.since}`);
  const rows = await q.orderBy('d.created_at', 'desc').orderBy('d.id').limit(filter.limit).execute();
  return rows as unknown as DeliverySummary[];
}

export async function findDelivery(db: Db, id: string): Promise<DeliverySummary | null> {
  const row = await summaryQuery(db).where('d.id', '=', id).executeTakeFirst();
  return (row as unknown as DeliverySummary | undefined) ?? null;
}

/** A delivery with its stored body (kept only once it failed, for redelivery), for a delivery's page. */
export type DeliveryDetail = DeliverySummary & { payload: Buffer | null };

export async function findDeliveryDetail(db: Db, id: string): Promise<DeliveryDetail | null> {
  const row = await summaryQuery(db).select('d.payload').where('d.id', '=', id).executeTakeFirst();
  return (row as unknown as DeliveryDetail | undefined) ?? null;
}

/**
 * One attempt or cancellation of a delivery: the columns of the webhooks.delivery_log view
 * (migration 0002), and the whole stored response body beside its excerpt.
 */
export interface AttemptLogRow {
  attempted_at: Date;
  series: number;
  attempt: number;
  outcome: 'succeeded' | 'failed' | 'cancelled';
  status_code: number | null;
  error_kind: string | null;
  error: string | null;
  duration_ms: number;
  delay_ms: number | null;
  due_at: Date | null;
  url: string;
  /** The view's excerpt: the first 300 characters of `response_body`. */
  response_excerpt: string | null;
  /** As stored: at most RESPONSE_BODY_STORE_BYTES of the response. */
  response_body: string | null;
  /** The W3C traceparent sent with the attempt (migration 0008); null when none was. */
  traceparent: string | null;
}

/** Every attempt of a delivery, in order. */
export async function listAttempts(db: Db, deliveryId: string): Promise<AttemptLogRow[]> {
  // The view's columns, read from its table to have the whole body too.
  const { rows } = await sql<AttemptLogRow>`
    select started_at as attempted_at, series, attempt, outcome, status_code, error_kind, error, duration_ms, delay_ms, due_at, url,
           left(response_body, 300) as response_excerpt, response_body, traceparent
      from webhooks.attempts
     where delivery_id = ${deliveryId}::uuid
     order by series, attempt, started_at`.execute(db);
  return rows;
}

/** `webhooks.redeliver(id, force)`: requests a new attempt series; raises (with a hint) when it cannot. */
export async function redeliver(db: Db, id: string, force: boolean): Promise<void> {
  await sql`select webhooks.redeliver(${id}::uuid, ${force}::boolean)`.execute(db);
}

/** `webhooks.recover(endpoint, since)`: how many failed deliveries of the endpoint were requested again. */
export async function recover(db: Db, endpointId: string, since: Date): Promise<number> {
  const { rows } = await sql<{
    requested: number;
  }>`select webhooks.recover(${endpointId}::uuid, ${since}::timestamptz) as requested`.execute(db);
  return rows[0]!.requested;
}

/**
 * How many deliveries `recover(db, endpointId, since)` would request again now: the same
 * selection as webhooks.recover (dead, cancelled, or retrying after an attempt, last touched at
 * or after `since`, with a stored body), so the admin can say the number before asking to confirm.
 * Through the (endpoint_id, open_status) index, as recover() (migration 0014).
 */
export async function countRecoverable(db: Db, endpointId: string, since: Date): Promise<number> {
  const { rows } = await sql<{ n: number }>`
    select count(*)::int as n
      from webhooks.deliveries d
     where d.endpoint_id = ${endpointId}::uuid
       and d.open_status in ('dead', 'cancelled', 'retrying')
       and (d.open_status <> 'retrying' or d.attempts > 0)
       and coalesce(d.last_attempt_at, d.created_at) >= ${since}::timestamptz
       and d.payload is not null`.execute(db);
  return rows[0]!.n;
}
