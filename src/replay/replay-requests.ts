import type pg from 'pg';
import type { ReplayProgress } from './replay.ts';

/** The channel webhooks.replay() and webhooks.cancel_replay() (migration 0010) notify on. */
export const REPLAYS_CHANNEL = 'webhooks_replays';

export type ReplayStatus = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';

/** A replay request claimed by this dispatcher (a row of webhooks.replay_requests). */
export interface ClaimedReplay {
  id: string;
  endpoint_id: string;
  since: Date;
  until: Date | null;
  types: string[] | null;
  requested_by: string;
  claims: number;
}

// Replays whose runner died (lease over) after `maxClaims` claims are given up, so one that kills
// its runner does not go round the fleet for ever.
const GIVE_UP_SQL = `
update webhooks.replay_requests
   set status = 'failed',
       error = format('given up after %s claims: the dispatchers running it stopped without finishing (see their logs)', claims),
       claimed_by = null, lease_expires_at = null, finished_at = now(), updated_at = now()
 where status = 'running' and lease_expires_at < now() and claims >= $1`;

// The oldest queued request, or a running one whose lease ran out (its runner died). SKIP LOCKED:
// two dispatchers claiming at once take different rows, or one takes it and the other nothing.
// A claimed replay restarts from `since`, so its counters start again from zero.
const CLAIM_SQL = `
with next as materialized (
  select id
    from webhooks.replay_requests
   where status = 'queued' or (status = 'running' and lease_expires_at < now())
   order by requested_at, id
   limit 1
     for update skip locked
)
update webhooks.replay_requests r
   set status = 'running', claimed_by = $1, lease_expires_at = now() + $2 * interval '1 millisecond',
       claims = r.claims + 1, started_at = coalesce(r.started_at, now()), updated_at = now(),
       scanned = 0, matched = 0, queued = 0, skipped_succeeded = 0, filtered = 0, in_flight = 0, invalid = 0,
       offsets_done = 0, offsets_total = null, error = null
  from next
 where r.id = next.id
returning r.id, r.endpoint_id, r.since, r.until, r.types, r.requested_by, r.claims`;

/** Fails replays given up on, then claims the next one, or returns null when there is none. */
export async function claimReplay(pool: pg.Pool, instanceId: string, leaseMs: number, maxClaims: number): Promise<ClaimedReplay | null> {
  await pool.query(GIVE_UP_SQL, [maxClaims]);
  const { rows } = await pool.query<ClaimedReplay>(CLAIM_SQL, [instanceId, leaseMs]);
  return rows[0] ?? null;
}

const COUNTERS = `scanned = $3, matched = $4, queued = $5, skipped_succeeded = $6, filtered = $7, in_flight = $8,
       invalid = $9, offsets_done = $10, offsets_total = $11, earliest_available = coalesce($12, earliest_available)`;

function counterValues(p: ReplayProgress, earliestAvailable: Date | null): unknown[] {
  return [
    p.scanned,
    p.matched,
    p.delivered,
    p.alreadySucceeded,
    p.filtered,
    p.inFlight,
    p.invalid,
    p.offsetsDone,
    p.totalOffsets,
    earliestAvailable,
  ];
}

// Renews the lease only while the replay is running: a cancelled one keeps its final status.
const PROGRESS_SQL = `
update webhooks.replay_requests
   set ${COUNTERS},
       lease_expires_at = case when status = 'running' then now() + $13 * interval '1 millisecond' else lease_expires_at end,
       updated_at = now()
 where id = $1 and claimed_by = $2
returning status`;

/**
 * Writes the progress and renews the lease. Returns the row's status (`cancelled` when an admin
 * cancelled it), or null when this dispatcher no longer holds it (its lease ran out and another
 * dispatcher claimed it).
 */
export async function writeProgress(
  pool: pg.Pool,
  replay: { id: string; instanceId: string; leaseMs: number },
  progress: ReplayProgress,
  earliestAvailable: Date | null,
): Promise<ReplayStatus | null> {
  const { rows } = await pool.query<{ status: ReplayStatus }>(PROGRESS_SQL, [
    replay.id,
    replay.instanceId,
    ...counterValues(progress, earliestAvailable),
    replay.leaseMs,
  ]);
  return rows[0]?.status ?? null;
}

// The end of a run: its counters, and its status unless an admin cancelled it meanwhile.
const FINISH_SQL = `
update webhooks.replay_requests
   set ${COUNTERS},
       status = case when status = 'running' then $13 else status end,
       error = case when status = 'running' then $14 else error end,
       finished_at = coalesce(finished_at, now()), lease_expires_at = null, updated_at = now()
 where id = $1 and claimed_by = $2
returning status`;

/** Records the outcome of a run; returns the final status (null when the claim was lost). */
export async function finishReplay(
  pool: pg.Pool,
  replay: { id: string; instanceId: string },
  outcome: { status: 'done' | 'failed'; error: string | null; progress: ReplayProgress; earliestAvailable: Date | null },
): Promise<ReplayStatus | null> {
  const { rows } = await pool.query<{ status: ReplayStatus }>(FINISH_SQL, [
    replay.id,
    replay.instanceId,
    ...counterValues(outcome.progress, outcome.earliestAvailable),
    outcome.status,
    outcome.error,
  ]);
  return rows[0]?.status ?? null;
}

/**
 * Hands a running replay back (this dispatcher is stopping): queued again, for any dispatcher to
 * restart; the claim does not count towards giving up.
 */
export async function releaseReplay(pool: pg.Pool, replay: { id: string; instanceId: string }): Promise<void> {
  await pool.query(
    `update webhooks.replay_requests
        set status = 'queued', claimed_by = null, lease_expires_at = null, claims = greatest(claims - 1, 0), updated_at = now()
      where id = $1 and claimed_by = $2 and status = 'running'`,
    [replay.id, replay.instanceId],
  );
}

/** The status of a replay (null when its row is gone: the endpoint was deleted). */
export async function replayStatus(pool: pg.Pool, id: string): Promise<ReplayStatus | null> {
  const { rows } = await pool.query<{ status: ReplayStatus }>('select status from webhooks.replay_requests where id = $1', [id]);
  return rows[0]?.status ?? null;
}
