import type pg from 'pg';
import type { ReplayStatus } from './replay-requests.ts';

/** A row of webhooks.replay_requests with its endpoint's name, as the CLI shows it. */
export interface ReplayRequestRow {
  id: string;
  endpoint_id: string;
  endpoint_name: string;
  since: Date;
  until: Date | null;
  types: string[] | null;
  requested_by: string;
  requested_at: Date;
  status: ReplayStatus;
  scanned: number;
  matched: number;
  queued: number;
  skipped_succeeded: number;
  filtered: number;
  in_flight: number;
  invalid: number;
  offsets_done: number;
  offsets_total: number | null;
  earliest_available: Date | null;
  error: string | null;
  claimed_by: string | null;
  claims: number;
  started_at: Date | null;
  finished_at: Date | null;
  updated_at: Date;
}

// bigint counters as numbers: a replay reads far fewer than 2^53 messages.
const SELECT = `
select r.id::text, r.endpoint_id::text, e.name as endpoint_name, r.since, r.until, r.types, r.requested_by, r.requested_at,
       r.status, r.scanned::float8 as scanned, r.matched::float8 as matched, r.queued::float8 as queued,
       r.skipped_succeeded::float8 as skipped_succeeded, r.filtered::float8 as filtered, r.in_flight::float8 as in_flight,
       r.invalid::float8 as invalid, r.offsets_done::float8 as offsets_done, r.offsets_total::float8 as offsets_total,
       r.earliest_available, r.error, r.claimed_by, r.claims, r.started_at, r.finished_at, r.updated_at
  from webhooks.replay_requests r
  join webhooks.endpoints e on e.id = r.endpoint_id`;

/** The latest replay requests, newest first; of one endpoint when `endpointId` is given. */
export async function listReplayRequests(
  pool: pg.Pool,
  options: { endpointId: string | null; limit: number },
): Promise<ReplayRequestRow[]> {
  const { rows } = await pool.query<ReplayRequestRow>(
    `${SELECT} where $1::uuid is null or r.endpoint_id = $1::uuid order by r.requested_at desc, r.id limit $2`,
    [options.endpointId, options.limit],
  );
  return rows;
}

export async function findReplayRequest(pool: pg.Pool, id: string): Promise<ReplayRequestRow | null> {
  const { rows } = await pool.query<ReplayRequestRow>(`${SELECT} where r.id = $1::uuid`, [id]);
  return rows[0] ?? null;
}

/** webhooks.cancel_replay(): the status afterwards (cancelled, or how it had already ended). */
export async function cancelReplayRequest(pool: pg.Pool, id: string): Promise<ReplayStatus> {
  const { rows } = await pool.query<{ status: ReplayStatus }>('select webhooks.cancel_replay($1::uuid) as status', [id]);
  return rows[0]!.status;
}
