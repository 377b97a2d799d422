import type { Logger } from 'pino';
import type pg from 'pg';
import type { DeliveryStatus } from '../db/database.ts';
import { WebhooksError } from '../errors.ts';

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
}

export class LogWriterClosedError extends WebhooksError {
  override readonly code = 'WH_LOG_WRITER_CLOSED';
}

export interface DeliveryLogWriterOptions {
  pool: pg.Pool;
  logger: Logger;
  /** Most records written by one statement. */
  batchSize: number;
  /** Longest a record waits for its batch to fill, ms. */
  flushIntervalMs: number;
  /** Observers for metrics. */
  onFlush?: (rows: number, seconds: number) => void;
  onFlushError?: (err: unknown) => void;
  onQueueChange?: (queued: number) => void;
}

interface Pending {
  delivery: DeliveryRecord;
  attempt: AttemptRecord | null;
  resolve: () => void;
  reject: (err: unknown) => void;
}

// One statement, one round trip, atomic: upsert the deliveries and append the attempts. A row of
// an older (series, attempts) never overwrites a newer one.
const FLUSH_SQL = `
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
     status_code, error_kind, error, response_body)
  select * from unnest($16::uuid[], $17::uuid[], $18::int[], $19::int[], $20::timestamptz[], $21::int[], $22::int[],
                       $23::timestamptz[], $24::text[], $25::text[], $26::int[], $27::text[], $28::text[], $29::text[])
  returning 1
)
select (select count(*) from d) as deliveries, (select count(*) from a) as attempts`;

const date = (ms: number | null): Date | null => (ms === null ? null : new Date(ms));
// Postgres text cannot hold NUL; a receiver may well send one.
const text = (s: string | null): string | null => (s === null || !s.includes('\u0000') ? s : s.replaceAll('\u0000', '\uFFFD'));

/**
 * The delivery log writer: records are queued and written in batches (one multi-row statement per
 * batch); `record()` resolves once its rows are durable, which is what lets the caller settle the
 * Kafka offset. A failed write is retried with backoff and never dropped; `close()` flushes.
 */
export class DeliveryLogWriter {
  readonly #o: DeliveryLogWriterOptions;
  #queue: Pending[] = [];
  #timer: NodeJS.Timeout | null = null;
  #flushing: Promise<void> | null = null;
  #closed = false;
  #abort = new AbortController();

  constructor(options: DeliveryLogWriterOptions) {
    this.#o = options;
  }

  get queued(): number {
    return this.#queue.length;
  }

  /** Queues a delivery state (and its attempt, if one was made); resolves once written. */
  record(delivery: DeliveryRecord, attempt: AttemptRecord | null): Promise<void> {
    if (this.#closed) return Promise.reject(new LogWriterClosedError('delivery log writer is closed'));
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ delivery, attempt, resolve, reject });
      this.#o.onQueueChange?.(this.#queue.length);
      if (this.#queue.length >= this.#o.batchSize) this.#kick();
      else this.#timer ??= setTimeout(() => this.#kick(), this.#o.flushIntervalMs);
    });
  }

  /** Writes everything queued so far. */
  async flush(): Promise<void> {
    while (this.#queue.length > 0 || this.#flushing) {
      this.#kick();
      await this.#flushing;
    }
  }

  #kick(): void {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    if (this.#flushing || this.#queue.length === 0) return;
    this.#flushing = this.#drain().finally(() => {
      this.#flushing = null;
      if (this.#queue.length > 0) {
        if (this.#queue.length >= this.#o.batchSize || this.#closed) this.#kick();
        else this.#timer ??= setTimeout(() => this.#kick(), this.#o.flushIntervalMs);
      }
    });
  }

  async #drain(): Promise<void> {
    const batch = this.#queue.splice(0, this.#o.batchSize);
    this.#o.onQueueChange?.(this.#queue.length);
    let backoff = 100;
    for (;;) {
      const started = performance.now();
      try {
        await this.#o.pool.query(FLUSH_SQL, buildParams(batch));
        this.#o.onFlush?.(batch.length, (performance.now() - started) / 1000);
        for (const p of batch) p.resolve();
        return;
      } catch (err) {
        this.#o.onFlushError?.(err);
        if (this.#abort.signal.aborted) {
          for (const p of batch) p.reject(err);
          return;
        }
        this.#o.logger.warn({ err, rows: batch.length, retryInMs: backoff }, 'delivery log write failed; retrying');
        await new Promise<void>((r) => {
          const t = setTimeout(r, backoff);
          this.#abort.signal.addEventListener('abort', () => (clearTimeout(t), r()), { once: true });
        });
        backoff = Math.min(backoff * 2, 5000);
      }
    }
  }

  /**
   * Flushes what is queued and refuses new records. If the database stays unreachable past
   * `signal`, the remaining records are rejected (their offsets are then not committed).
   */
  async close(signal?: AbortSignal): Promise<void> {
    this.#closed = true;
    const onAbort = (): void => this.#abort.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await this.flush();
    } finally {
      signal?.removeEventListener('abort', onAbort);
      for (const p of this.#queue.splice(0)) p.reject(new LogWriterClosedError('delivery log writer closed before the row was written'));
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

function buildParams(batch: Pending[]): unknown[] {
  // Postgres refuses to update one row twice in a statement: keep the newest state per delivery.
  const latest = new Map<string, DeliveryRecord>();
  for (const { delivery: d } of batch) {
    const prev = latest.get(d.deliveryId);
    if (!prev || d.series > prev.series || (d.series === prev.series && d.attempts >= prev.attempts)) {
      latest.set(d.deliveryId, prev ? { ...d, payload: d.payload ?? prev.payload, source: d.source ?? prev.source } : d);
    }
  }
  const ds = [...latest.values()];
  const as = batch.flatMap((p) => (p.attempt ? [p.attempt] : []));
  return [
    ds.map((d) => d.deliveryId),
    ds.map((d) => d.endpointId),
    ds.map((d) => d.eventId),
    ds.map((d) => d.eventType),
    ds.map((d) => date(d.eventTimestampMs)),
    ds.map((d) => d.status),
    ds.map((d) => d.statusReason),
    ds.map((d) => d.series),
    ds.map((d) => d.attempts),
    ds.map((d) => d.lastStatusCode),
    ds.map((d) => text(d.lastError)),
    ds.map((d) => date(d.firstAttemptAtMs)),
    ds.map((d) => date(d.lastAttemptAtMs)),
    ds.map((d) => date(d.nextAttemptAtMs)),
    ds.map((d) => d.payload),
    as.map((a) => a.deliveryId),
    as.map((a) => a.endpointId),
    as.map((a) => a.series),
    as.map((a) => a.attempt),
    as.map((a) => a.startedAt),
    as.map((a) => Math.round(a.durationMs)),
    as.map((a) => a.delayMs),
    as.map((a) => date(a.dueAtMs)),
    as.map((a) => a.url),
    as.map((a) => a.outcome),
    as.map((a) => a.statusCode),
    as.map((a) => a.errorKind),
    as.map((a) => text(a.error)),
    as.map((a) => text(a.responseBody)),
    ds.map((d) => d.source?.topic ?? null),
    ds.map((d) => d.source?.partition ?? null),
    ds.map((d) => d.source?.offset ?? null),
  ];
}
