import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import type { AttemptLogRow } from '../log/delivery-queries.ts';

// Reads of the delivery log and endpoint health that only the web admin makes. Times come back as
// Date (pg's timestamptz); bigint counts as numbers (src/db/database.ts sets the parser).

/** One row of webhooks.endpoint_health (migrations 0002 and 0011). */
export interface EndpointHealth {
  endpoint_id: string;
  last_success_at: Date | null;
  last_failure_at: Date | null;
  last_failure_status_code: number | null;
  last_failure_error: string | null;
  attempts_1h: number;
  success_ratio_1h: string | null;
  attempts_24h: number;
  success_ratio_24h: string | null;
  deliveries_dead: number;
  deliveries_retrying: number;
  /** Start of the current failing streak (every attempt failed since); null when not failing. */
  failing_since: Date | null;
  failing_attempts: number;
}

/** Health of every endpoint, by endpoint id. */
export async function endpointHealth(db: Db, endpointId?: string): Promise<Map<string, EndpointHealth>> {
  const { rows } = await sql<EndpointHealth>`
    select endpoint_id, last_success_at, last_failure_at, last_failure_status_code, last_failure_error,
           attempts_1h, success_ratio_1h, attempts_24h, success_ratio_24h, deliveries_dead, deliveries_retrying,
           failing_since, failing_attempts
      from webhooks.endpoint_health
     where ${endpointId === undefined ? sql`true` : sql`endpoint_id = ${endpointId}::uuid`}`.execute(db);
  return new Map(rows.map((r) => [r.endpoint_id, r]));
}

/** One attempt (or cancellation) in an endpoint's delivery log. */
export interface LogEntry extends Pick<
  AttemptLogRow,
  'attempted_at' | 'series' | 'attempt' | 'outcome' | 'status_code' | 'error_kind' | 'error' | 'duration_ms' | 'response_excerpt'
> {
  cursor: string;
  delivery_id: string;
  event_type: string;
  event_id: string;
  delivery_status: string | null;
}

export const LOG_OUTCOMES = ['succeeded', 'failed', 'cancelled'] as const;
export type LogOutcome = (typeof LOG_OUTCOMES)[number];

export interface LogFilter {
  endpointId: string;
  outcome?: LogOutcome;
  eventType?: string;
  since?: Date;
  until?: Date;
  /** The `cursor` of the last row of the previous page: the page continues strictly after it. */
  after?: string;
  limit: number;
}

// A cursor is the attempt's key in the log's order: time in microseconds (what Postgres stores;
// a JS Date would lose them), delivery id, series, attempt.
const CURSOR_RE = /^(\d{1,17})_([0-9a-f-]{36})_(\d{1,9})_(\d{1,9})$/;

export function isLogCursor(text: string): boolean {
  return CURSOR_RE.test(text);
}

/** A page of the delivery log, newest first, keyset-paged; one row more than `limit` says there is a next page. */
export async function listLogEntries(db: Db, f: LogFilter): Promise<{ entries: LogEntry[]; next: string | null }> {
  const conditions = [sql`l.endpoint_id = ${f.endpointId}::uuid`];
  if (f.outcome !== undefined) conditions.push(sql`l.outcome = ${f.outcome}`);
  if (f.eventType !== undefined) conditions.push(sql`l.event_type = ${f.eventType}`);
  if (f.since !== undefined) conditions.push(sql`l.attempted_at >= ${f.since}::timestamptz`);
  if (f.until !== undefined) conditions.push(sql`l.attempted_at < ${f.until}::timestamptz`);
  const m = f.after === undefined ? null : CURSOR_RE.exec(f.after);
  if (m) {
    // Whole seconds and the microseconds apart: exact, where one float multiplication might round.
    const us = BigInt(m[1]!);
    const at = sql`(timestamptz 'epoch' + ${String(us / 1_000_000n)}::bigint * interval '1 second' + ${Number(us % 1_000_000n)}::int * interval '1 microsecond')`;
    conditions.push(
      sql`(l.attempted_at, l.delivery_id, l.series, l.attempt) < (${at}, ${m[2]}::uuid, ${Number(m[3])}::int, ${Number(m[4])}::int)`,
    );
  }
  const { rows } = await sql<LogEntry>`
    select (extract(epoch from l.attempted_at) * 1000000)::bigint::text || '_' || l.delivery_id || '_' || l.series || '_' || l.attempt as cursor,
           l.attempted_at, l.delivery_id, l.event_type, l.event_id, l.series, l.attempt, l.outcome, l.status_code,
           l.error_kind, l.error, l.duration_ms, l.response_excerpt, l.delivery_status
      from webhooks.delivery_log l
     where ${sql.join(conditions, sql` and `)}
     order by l.attempted_at desc, l.delivery_id desc, l.series desc, l.attempt desc
     limit ${f.limit + 1}`.execute(db);
  const entries = rows.slice(0, f.limit);
  return { entries, next: rows.length > f.limit ? entries.at(-1)!.cursor : null };
}

/** Live answers to the spec's troubleshooting table for one endpoint, over the last 24 hours. */
export interface TroubleshootingFacts {
  deliveries_24h: number;
  matching_events_24h: number;
  attempts_4xx_24h: number;
  attempts_5xx_24h: number;
  attempts_no_response_24h: number;
  attempts_auth_rejected_24h: number;
  last_4xx_status: number | null;
  last_4xx_excerpt: string | null;
  last_5xx_status: number | null;
  last_network_error: string | null;
}

export async function troubleshootingFacts(db: Db, endpointId: string, eventTypes: readonly string[]): Promise<TroubleshootingFacts> {
  const all = eventTypes.includes('*');
  const { rows } = await sql<TroubleshootingFacts>`
    with a as (
      select status_code, error_kind, error, response_body, started_at
        from webhooks.attempts
       where endpoint_id = ${endpointId}::uuid and started_at >= now() - interval '24 hours' and outcome <> 'cancelled'
    )
    select (select count(*) from webhooks.deliveries where endpoint_id = ${endpointId}::uuid and created_at >= now() - interval '24 hours')::integer as deliveries_24h,
           (select count(distinct event_id) from webhooks.deliveries
             where created_at >= now() - interval '24 hours'
               and ${all ? sql`true` : sql`event_type = any(${[...eventTypes]}::text[])`})::integer as matching_events_24h,
           (select count(*) from a where status_code between 400 and 499)::integer as attempts_4xx_24h,
           (select count(*) from a where status_code between 500 and 599)::integer as attempts_5xx_24h,
           (select count(*) from a where status_code is null)::integer as attempts_no_response_24h,
           (select count(*) from a where status_code in (401, 403))::integer as attempts_auth_rejected_24h,
           (select status_code from a where status_code between 400 and 499 order by started_at desc limit 1) as last_4xx_status,
           (select left(response_body, 200) from a where status_code between 400 and 499 order by started_at desc limit 1) as last_4xx_excerpt,
           (select status_code from a where status_code between 500 and 599 order by started_at desc limit 1) as last_5xx_status,
           (select coalesce(error_kind || ': ', '') || coalesce(error, '') from a where status_code is null order by started_at desc limit 1) as last_network_error`.execute(
    db,
  );
  return rows[0]!;
}
