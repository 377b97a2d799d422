import { Kysely, PostgresDialect, type ColumnType, type Generated } from 'kysely';
import pg from 'pg';

// bigint (int8) columns come back as strings by default; counts here fit in a JS number.
pg.types.setTypeParser(20, (v) => Number(v));

type Timestamp = ColumnType<Date, Date | string, Date | string>;
/** A timestamp the database fills in by default. */
type DefaultedTimestamp = ColumnType<Date, Date | string | undefined, Date | string>;

export interface EndpointsTable {
  id: Generated<string>;
  name: string;
  url: string;
  secret: Generated<string>;
  previous_secret: string | null;
  previous_secret_expires_at: Timestamp | null;
  event_types: string[];
  enabled: Generated<boolean>;
  disabled_reason: string | null;
  description: string | null;
  /** Payload filter (migration 0007); null sends every event. */
  filter: unknown;
  /** Delivery ordering (migration 0012): `none`, or `per_key` (same Kafka key, offset order). */
  ordering: Generated<EndpointOrdering>;
  /** Extra request headers (migration 0008), an object of strings; `{}` for none. Secret values. */
  headers: Generated<unknown>;
  /** Requests per second (migration 0009; numeric, read as text by pg); null is unlimited. */
  max_per_second: string | number | null;
  /** Requests in flight at once (migration 0009); null is the service's ENDPOINT_CONCURRENCY. */
  max_in_flight: number | null;
  created_at: DefaultedTimestamp;
  updated_at: DefaultedTimestamp;
}

/** See webhooks.endpoints.ordering: `per_key` delivers events of one Kafka key in offset order. */
export type EndpointOrdering = 'none' | 'per_key';

export type DeliveryStatus = 'pending' | 'succeeded' | 'retrying' | 'dead' | 'cancelled';

export interface DeliveriesTable {
  id: string;
  endpoint_id: string;
  event_id: string;
  event_type: string;
  event_timestamp: Timestamp | null;
  status: DeliveryStatus;
  status_reason: string | null;
  series: Generated<number>;
  attempts: Generated<number>;
  last_status_code: number | null;
  last_error: string | null;
  first_attempt_at: Timestamp | null;
  last_attempt_at: Timestamp | null;
  next_attempt_at: Timestamp | null;
  payload: Buffer | null;
  created_at: DefaultedTimestamp;
  updated_at: DefaultedTimestamp;
  /**
   * Generated (migration 0014): the status of a delivery that is not succeeded, except a first
   * attempt a dispatcher has claimed and is sending (null for that one too). Indexed instead of `status`.
   */
  open_status: ColumnType<OpenStatus | null, never, never>;
}

/** The statuses `open_status` holds (a pending delivery only as a redelivery, or parked behind an earlier one of its key). */
export type OpenStatus = Exclude<DeliveryStatus, 'succeeded'>;

export interface AttemptsTable {
  delivery_id: string;
  endpoint_id: string;
  series: number;
  attempt: number;
  started_at: Timestamp;
  duration_ms: number;
  delay_ms: number | null;
  due_at: Timestamp | null;
  url: string;
  outcome: 'succeeded' | 'failed' | 'cancelled';
  status_code: number | null;
  error_kind: string | null;
  error: string | null;
  response_body: string | null;
  /** The W3C traceparent sent with the attempt (migration 0008); null when none was. */
  traceparent: string | null;
}

export interface SettingsTable {
  key: string;
  value: string;
  updated_at: DefaultedTimestamp;
}

export interface EventTypesTable {
  name: string;
  description: string;
  /** JSON Schema for the envelope's `data`; null accepts any object. */
  data_schema: unknown;
  /** Example `data` for test events. */
  sample_data: Generated<unknown>;
  /** Bumped by the trigger on every change of data_schema. */
  version: Generated<number>;
  updated_at: DefaultedTimestamp;
}

/** Unsettled deliveries to per_key endpoints (migration 0012; written only by its functions). */
export interface OrderedDeliveriesTable {
  delivery_id: string;
  endpoint_id: string;
  source_topic: string;
  source_partition: number;
  source_offset: string;
  order_key: Buffer;
  state: 'active' | 'parked';
  event_id: string;
  event_type: string;
  event_timestamp: Timestamp | null;
  body: Buffer | null;
  entered_at: DefaultedTimestamp;
  activated_at: Timestamp | null;
  handed_off_at: Timestamp | null;
}

/** The tables of schema `webhooks`, as kysely sees them (`webhooks.endpoints` …). */
export interface Database {
  'webhooks.endpoints': EndpointsTable;
  'webhooks.deliveries': DeliveriesTable;
  'webhooks.attempts': AttemptsTable;
  'webhooks.settings': SettingsTable;
  'webhooks.event_types': EventTypesTable;
  'webhooks.ordered_deliveries': OrderedDeliveriesTable;
}

export type Db = Kysely<Database>;

export interface DatabaseHandle {
  db: Db;
  pool: pg.Pool;
}

export interface PoolTimeouts {
  /** Server-side bound on one statement, ms (`statement_timeout`); 0 for none. */
  statementTimeoutMs: number;
  /** Server-side bound on waiting for one lock, ms (`lock_timeout`); 0 for none. */
  lockTimeoutMs: number;
}

/** Opens a pool and a kysely instance over it; `db.destroy()` closes both. */
export function openDatabase(
  url: string,
  poolSize: number,
  applicationName = 'dialer-webhooks',
  timeouts: PoolTimeouts = { statementTimeoutMs: 0, lockTimeoutMs: 0 },
): DatabaseHandle {
  // A server that does not answer fails a connection attempt after 10 s instead of hanging. A
  // statement stuck behind a lock, or running away, is ended by the server and fails like any
  // transient error, so the caller retries it rather than hanging with the offsets behind it.
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    application_name: applicationName,
    connectionTimeoutMillis: 10_000,
    ...(timeouts.statementTimeoutMs > 0 && { statement_timeout: timeouts.statementTimeoutMs }),
    ...(timeouts.lockTimeoutMs > 0 && { lock_timeout: timeouts.lockTimeoutMs }),
  });
  // An idle client that loses its connection emits 'error' on the pool; without a listener the
  // process would crash. The next query reconnects.
  pool.on('error', () => {});
  // pg-pool takes its listener off a client while it is checked out, and pg emits 'error' on a
  // client whose connection ends even while a query is running (that query rejects as well). With
  // no listener, a Postgres restart during any query would crash the process; the query's own
  // rejection is what the caller handles and retries.
  pool.on('connect', (client) => client.on('error', () => {}));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return { db, pool };
}
