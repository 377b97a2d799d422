import type pg from 'pg';
import type { AlertEvent, FailingStreak, StreakAction } from './failing-streak.ts';

/** Enabled endpoints failing now, and the streaks at least `minAgeMs` old, with the database's clock. */
export async function findFailingStreaks(
  pool: pg.Pool,
  minAgeMs: number,
): Promise<{ nowMs: number; failingEndpoints: number; streaks: FailingStreak[] }> {
  // Dead deliveries are counted only for the few streaks old enough to act on, through the
  // (endpoint_id, open_status) index of open deliveries (migration 0014).
  const { rows } = await pool.query<{
    now: Date;
    failing: number;
    endpoint_id: string | null;
    name: string;
    failing_since: Date;
    last_error: string | null;
    failed_attempts: string;
    failing_alert_at: Date | null;
    dead: number;
  }>(
    `with failing as (
       select s.*, e.name
         from webhooks.failing_streaks s
         join webhooks.endpoints e on e.id = s.endpoint_id and e.enabled
        where s.failing_since is not null
     )
     select now() as now, (select count(*)::int from failing) as failing,
            f.endpoint_id, f.name, f.failing_since, f.last_error, f.failed_attempts, f.failing_alert_at,
            (select count(*)::int from webhooks.deliveries d
              where d.endpoint_id = f.endpoint_id and d.open_status = 'dead' and d.last_attempt_at >= f.failing_since) as dead
       from (select 1) one
       left join failing f on f.failing_since <= now() - make_interval(secs => $1::double precision / 1000)
      order by f.failing_since`,
    [minAgeMs],
  );
  const first = rows[0]!;
  return {
    nowMs: first.now.getTime(),
    failingEndpoints: first.failing,
    streaks: rows.flatMap((r) =>
      r.endpoint_id === null
        ? []
        : [
            {
              endpointId: r.endpoint_id,
              endpointName: r.name,
              failingSince: r.failing_since,
              lastError: r.last_error,
              failedAttempts: Number(r.failed_attempts),
              deadDeliveries: r.dead,
              failingAlertAt: r.failing_alert_at,
            },
          ],
    ),
  };
}

// Each action is one conditional statement, so of several dispatchers sweeping at once only one
// sees its row change (the others re-check `enabled` or `failing_alert_at` after the row lock and
// skip it): the endpoint is disabled, or the failing alert marked, once. The same statement
// queues the alert ($5: unless alerts are off, $6: the event), so an action never happens without its alert.
// The streak read is still the current one ($2 came back through a JS Date: milliseconds only).
const SAME_STREAK = `abs(extract(epoch from s.failing_since - $2::timestamptz)) < 0.001`;

const ACTION_SQL: Record<Exclude<StreakAction, 'none'>, string> = {
  disable: `
    with acted as (
      update webhooks.endpoints e set enabled = false, disabled_reason = $7
       where e.id = $1 and e.enabled
         and exists (select 1 from webhooks.failing_streaks s where s.endpoint_id = e.id and ${SAME_STREAK})
      returning e.id
    ), queued as (
      insert into webhooks.alerts (id, alert, endpoint_id, event)
      select $3, $4, id, $6::jsonb from acted where $5
    )
    select count(*)::int as acted from acted`,
  alert_failing: `
    with acted as (
      update webhooks.failing_streaks s set failing_alert_at = now()
       where s.endpoint_id = $1 and ${SAME_STREAK} and s.failing_alert_at is null
         and exists (select 1 from webhooks.endpoints e where e.id = s.endpoint_id and e.enabled)
      returning s.endpoint_id as id
    ), queued as (
      insert into webhooks.alerts (id, alert, endpoint_id, event)
      select $3, $4, id, $6::jsonb from acted where $5
    )
    select count(*)::int as acted from acted`,
};

/**
 * Takes `action` on `streak` if nobody did meanwhile (the streak unchanged, the endpoint still
 * enabled, the alert not yet sent); queues `alert` when `queueAlert`. True when this call acted.
 */
export async function applyStreakAction(
  pool: pg.Pool,
  action: Exclude<StreakAction, 'none'>,
  streak: FailingStreak,
  alert: AlertEvent,
  queueAlert: boolean,
): Promise<boolean> {
  const params = [streak.endpointId, streak.failingSince, alert.id, alert.alert, queueAlert, JSON.stringify(alert.event)];
  // Disabling also writes the reason ($7), the one the alert carries.
  if (action === 'disable') params.push(String(alert.event.data.reason));
  const { rows } = await pool.query<{ acted: number }>(ACTION_SQL[action], params);
  return rows[0]!.acted > 0;
}

/**
 * Alerts queued but not produced for `leaseMs` (their dispatcher crashed, or the broker refused):
 * claimed for another try, so a lost one is produced late rather than never.
 */
export async function claimUnproducedAlerts(pool: pg.Pool, leaseMs: number): Promise<AlertEvent[]> {
  const { rows } = await pool.query<{ id: string; alert: AlertEvent['alert']; endpoint_id: string; event: AlertEvent['event'] }>(
    `update webhooks.alerts set claimed_at = now()
      where id in (select id from webhooks.alerts
                    where produced_at is null and claimed_at <= now() - make_interval(secs => $1::double precision / 1000)
                    order by claimed_at limit 100 for update skip locked)
      returning id, alert, endpoint_id, event`,
    [leaseMs],
  );
  return rows.map((r) => ({ id: r.id, alert: r.alert, endpointId: r.endpoint_id, event: r.event }));
}

/** Records that the broker acknowledged these alerts. */
export async function markAlertsProduced(pool: pg.Pool, ids: readonly string[]): Promise<void> {
  if (ids.length > 0) await pool.query(`update webhooks.alerts set produced_at = now() where id = any($1::uuid[])`, [ids]);
}
