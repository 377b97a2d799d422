import type { DeliveryStatus } from '../db/database.ts';
import { byteaArray, int4Array, int8Array, textArray, timestamptzArray, uuidArray } from '../db/pg-binary-arrays.ts';
import { LONG_TEXT_CHARS, pgInt, pgText, SHORT_TEXT_CHARS } from '../db/postgres-values.ts';

/** The state of a delivery after an attempt (or a decision without one, such as a cancellation). */
export interface DeliveryRecord {
  deliveryId: string;
  endpointId: string;
  eventId: string;
  eventType: string;
  eventTimestampMs: number | null;
  status: DeliveryStatus;
  statusReason: string | null;
  series: number;
  /** Attempts made so far in this series. */
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  firstAttemptAtMs: number | null;
  lastAttemptAtMs: number | null;
  nextAttemptAtMs: number | null;
  /** The body, kept for failed deliveries so they can be redelivered; null keeps what is stored. */
  payload: Buffer | null;
  /** Where the event was read (input path only); null keeps what is stored. */
  source: { topic: string; partition: number; offset: string } | null;
}

/** One HTTP attempt: the row of `webhooks.attempts`. */
export interface AttemptRecord {
  deliveryId: string;
  endpointId: string;
  series: number;
  attempt: number;
  startedAt: Date;
  durationMs: number;
  delayMs: number | null;
  dueAtMs: number | null;
  url: string;
  outcome: 'succeeded' | 'failed' | 'cancelled';
  statusCode: number | null;
  errorKind: string | null;
  error: string | null;
  responseBody: string | null;
  /** The W3C traceparent sent with the attempt; null or absent when none was. */
  traceparent?: string | null;
}

/** One `record()` call's rows. */
export interface LogRows {
  delivery: DeliveryRecord;
  attempt: AttemptRecord | null;
}

// One statement, one round trip, atomic: upsert the deliveries and append the attempts. A row of
// an older (series, attempts) never overwrites a newer one.
export const FLUSH_SQL = `
with d as (
  insert into webhooks.deliveries as d
    (id, endpoint_id, event_id, event_type, event_timestamp, status, status_reason, series, attempts,
     last_status_code, last_error, first_attempt_at, last_attempt_at, next_attempt_at, payload,
     source_topic, source_partition, source_offset)
  select * from unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::timestamptz[], $6::text[], $7::text[],
                       $8::int[], $9::int[], $10::int[], $11::text[], $12::timestamptz[], $13::timestamptz[],
                       $14::timestamptz[], $15::bytea[], $30::text[], $31::int[], $32::bigint[])
  on conflict (id) do update set
    status = excluded.status,
    status_reason = excluded.status_reason,
    series = excluded.series,
    attempts = excluded.attempts,
    last_status_code = coalesce(excluded.last_status_code, case when excluded.attempts = d.attempts then d.last_status_code end),
    last_error = coalesce(excluded.last_error, case when excluded.attempts = d.attempts then d.last_error end),
    first_attempt_at = case when excluded.series > d.series then excluded.first_attempt_at
                            else coalesce(d.first_attempt_at, excluded.first_attempt_at) end,
    last_attempt_at = coalesce(excluded.last_attempt_at, d.last_attempt_at),
    next_attempt_at = excluded.next_attempt_at,
    -- A body stored at a failure is kept after a later success, so an admin can force a resend.
    payload = coalesce(excluded.payload, d.payload),
    source_topic = coalesce(d.source_topic, excluded.source_topic),
    source_partition = coalesce(d.source_partition, excluded.source_partition),
    source_offset = coalesce(d.source_offset, excluded.source_offset),
    updated_at = now()
  where (excluded.series, excluded.attempts) >= (d.series, d.attempts)
  returning 1
), a as (
  insert into webhooks.attempts
    (delivery_id, endpoint_id, series, attempt, started_at, duration_ms, delay_ms, due_at, url, outcome,
     status_code, error_kind, error, response_body, traceparent)
  select * from unnest($16::uuid[], $17::uuid[], $18::int[], $19::int[], $20::timestamptz[], $21::int[], $22::int[],
                       $23::timestamptz[], $24::text[], $25::text[], $26::int[], $27::text[], $28::text[], $29::text[],
                       $33::text[])
  returning 1
)
select (select count(*) from d) as deliveries, (select count(*) from a) as attempts`;

const short = (s: string | null): string | null => pgText(s, SHORT_TEXT_CHARS);
const long = (s: string | null): string | null => pgText(s, LONG_TEXT_CHARS);
const count = (n: number): number => Math.max(0, pgInt(n) ?? 0);

/** The parameters of FLUSH_SQL for `rows` (binary arrays, see pg-binary-arrays.ts), every value from outside made safe for Postgres. */
export function flushParams(rows: readonly LogRows[]): unknown[] {
  // Postgres refuses to update one row twice in a statement: keep the newest state per delivery.
  const latest = new Map<string, DeliveryRecord>();
  const as: AttemptRecord[] = [];
  for (const { delivery: d, attempt } of rows) {
    if (attempt) as.push(attempt);
    const prev = latest.get(d.deliveryId);
    if (!prev || d.series > prev.series || (d.series === prev.series && d.attempts >= prev.attempts)) {
      latest.set(d.deliveryId, prev ? { ...d, payload: d.payload ?? prev.payload, source: d.source ?? prev.source } : d);
    }
  }
  const ds = [...latest.values()];
  return [
    ...DELIVERY_COLUMNS.map((column) => column(ds)),
    ...ATTEMPT_COLUMNS.map((column) => column(as)),
    textArray(ds, (d) => short(d.source?.topic ?? null)),
    int4Array(ds, (d) => pgInt(d.source?.partition ?? null)),
    int8Array(ds, (d) => d.source?.offset ?? null),
    textArray(as, (a) => a.traceparent ?? null),
  ];
}

/** One parameter of FLUSH_SQL: a binary array (pg-binary-arrays.ts) of one field of the rows, made safe for Postgres. */
type Column<R> = (rows: readonly R[]) => Buffer | string;

// The columns of FLUSH_SQL: $1–$15 (the deliveries, the payload last), $16–$29 (the attempts),
// then $30–$32 (where the event was read) and $33 (traceparent). In the order of the SQL.
// prettier-ignore
const DELIVERY_COLUMNS: Array<Column<DeliveryRecord>> = [
  (ds) => uuidArray(ds, (d) => d.deliveryId),
  (ds) => uuidArray(ds, (d) => d.endpointId),
  (ds) => textArray(ds, (d) => short(d.eventId)),
  (ds) => textArray(ds, (d) => short(d.eventType)),
  (ds) => timestamptzArray(ds, (d) => d.eventTimestampMs),
  (ds) => textArray(ds, (d) => d.status),
  (ds) => textArray(ds, (d) => short(d.statusReason)),
  (ds) => int4Array(ds, (d) => count(d.series)),
  (ds) => int4Array(ds, (d) => count(d.attempts)),
  (ds) => int4Array(ds, (d) => pgInt(d.lastStatusCode)),
  (ds) => textArray(ds, (d) => long(d.lastError)),
  (ds) => timestamptzArray(ds, (d) => d.firstAttemptAtMs),
  (ds) => timestamptzArray(ds, (d) => d.lastAttemptAtMs),
  (ds) => timestamptzArray(ds, (d) => d.nextAttemptAtMs),
  (ds) => byteaArray(ds, (d) => d.payload),
];
// prettier-ignore
const ATTEMPT_COLUMNS: Array<Column<AttemptRecord>> = [
  (as) => uuidArray(as, (a) => a.deliveryId),
  (as) => uuidArray(as, (a) => a.endpointId),
  (as) => int4Array(as, (a) => count(a.series)),
  (as) => int4Array(as, (a) => count(a.attempt)),
  (as) => timestamptzArray(as, (a) => a.startedAt.getTime()),
  (as) => int4Array(as, (a) => count(a.durationMs)),
  (as) => int4Array(as, (a) => pgInt(a.delayMs)),
  (as) => timestamptzArray(as, (a) => a.dueAtMs),
  (as) => textArray(as, (a) => short(a.url)),
  (as) => textArray(as, (a) => a.outcome),
  (as) => int4Array(as, (a) => pgInt(a.statusCode)),
  (as) => textArray(as, (a) => short(a.errorKind)),
  (as) => textArray(as, (a) => long(a.error)),
  (as) => textArray(as, (a) => long(a.responseBody)),
];

// Printable ASCII survives any encoding and any text column.
const ascii = (s: string | null): string | null =>
  s === null ? null : pgText(s, SHORT_TEXT_CHARS).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

/**
 * The rows with every field that could have been refused replaced: text made printable ASCII,
 * optional numbers and times dropped, and the refusal noted in `last_error`. What identifies
 * the delivery (ids, status, series, attempts) is kept, so the log still says what happened.
 */
export function replaceRefusedFields(rows: LogRows, sqlState: string): LogRows {
  const note = `[some fields of this row were replaced: Postgres refused them (SQLSTATE ${sqlState})]`;
  const d = rows.delivery;
  const a = rows.attempt;
  return {
    delivery: {
      ...d,
      eventId: ascii(d.eventId)!,
      eventType: ascii(d.eventType)!,
      eventTimestampMs: null,
      statusReason: ascii(d.statusReason),
      lastStatusCode: null,
      lastError: note,
      firstAttemptAtMs: null,
      lastAttemptAtMs: null,
      nextAttemptAtMs: null,
      source: d.source && {
        topic: ascii(d.source.topic)!,
        partition: d.source.partition,
        offset: /^\d{1,19}$/.test(d.source.offset) ? d.source.offset : '0',
      },
    },
    attempt: a && {
      ...a,
      startedAt: Number.isFinite(a.startedAt.getTime()) ? a.startedAt : new Date(),
      durationMs: 0,
      delayMs: null,
      dueAtMs: null,
      url: ascii(a.url)!,
      statusCode: null,
      errorKind: ascii(a.errorKind),
      error: note,
      responseBody: null,
      traceparent: ascii(a.traceparent ?? null),
    },
  };
}
