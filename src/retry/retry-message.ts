import type { IHeaders } from 'kafkajs';
import { readTraceContext, traceHeaders, type TraceContext } from '../tracing/trace-context.ts';
import { isUuid } from '../util/uuid.ts';

/**
 * A delivery task in flight between attempts, as it travels on a delay or dead-letter topic.
 * The value is the webhook body exactly (the envelope bytes); everything else rides in headers, so
 * a retry needs no Postgres read and never re-encodes the body. It never carries a signature:
 * signatures are made afresh at each attempt.
 */
export interface DeliveryTask {
  deliveryId: string;
  endpointId: string;
  eventId: string;
  eventType: string;
  /** ms since the epoch, from the event's `timestamp`. */
  eventTimestampMs: number;
  /** Redeliveries start a new series under the same delivery id. */
  series: number;
  /** The attempt this message is for (2, 3, 4…); on the dead-letter topic, the last one made. */
  attempt: number;
  firstAttemptAtMs: number;
  /** When the attempt is due, ms since the epoch. */
  dueAtMs: number;
  /** The delay that preceded this attempt, ms. */
  delayMs: number;
  body: Buffer;
  /** In a per-key queue (src/ordering/): its settling releases the next delivery of its key. */
  ordered?: boolean;
  /**
   * The producer's trace context (its `traceparent` and `tracestate` headers), carried as those
   * same headers so that every retry is a child span of the producer's span too. Absent: none.
   */
  trace?: TraceContext | null;
}

const H = {
  deliveryId: 'delivery-id',
  endpointId: 'endpoint-id',
  eventId: 'event-id',
  eventType: 'event-type',
  eventTimestamp: 'event-timestamp',
  series: 'series',
  attempt: 'attempt',
  firstAttemptAt: 'first-attempt-at',
  dueAt: 'due-at',
  delayMs: 'delay-ms',
  ordering: 'ordering',
} as const;

/**
 * Marks a task parked by its endpoint's rate limit (see RetryScheduler.park): its attempt is not
 * made yet, and on its return it does not queue behind the other parked deliveries.
 */
export const THROTTLED_HEADER = 'throttled';

export function encodeTask(task: DeliveryTask, extra: Record<string, string> = {}): { key: string; value: Buffer; headers: IHeaders } {
  return {
    key: task.deliveryId,
    value: task.body,
    headers: {
      [H.deliveryId]: task.deliveryId,
      [H.endpointId]: task.endpointId,
      [H.eventId]: task.eventId,
      [H.eventType]: task.eventType,
      [H.eventTimestamp]: String(task.eventTimestampMs),
      [H.series]: String(task.series),
      [H.attempt]: String(task.attempt),
      [H.firstAttemptAt]: String(task.firstAttemptAtMs),
      [H.dueAt]: String(task.dueAtMs),
      [H.delayMs]: String(task.delayMs),
      ...(task.ordered ? { [H.ordering]: 'per_key' } : {}),
      ...traceHeaders(task.trace),
      ...extra,
    },
  };
}

export function headerString(headers: IHeaders | undefined, name: string): string | undefined {
  const v = headers?.[name];
  if (v === undefined || v === null) return undefined;
  const one = Array.isArray(v) ? v[0] : v;
  return one === undefined ? undefined : Buffer.isBuffer(one) ? one.toString('utf8') : String(one);
}

/** The due time alone, read without decoding the rest (the delay consumer checks it first). */
export function taskDueAt(headers: IHeaders | undefined): number {
  const v = Number(headerString(headers, H.dueAt));
  return Number.isFinite(v) ? v : 0;
}

const INT4_MAX = 2_147_483_647;
const MAX_DATE_MS = 8.64e15;

/**
 * Decodes a task; null when a header is missing or malformed (the message is not ours): ids that
 * are not UUIDs, counts that are not positive int4 values, times that are no dates.
 */
export function decodeTask(value: Buffer | null, headers: IHeaders | undefined): DeliveryTask | null {
  const task = readTask(value, headers);
  return task !== null && taskProblem(task) === null ? task : null;
}

/** Why `decodeTask` refuses a message, for the invalid topic's error header. */
export function badTaskReason(value: Buffer | null, headers: IHeaders | undefined): string {
  const task = readTask(value, headers);
  return task === null ? 'the value is null' : (taskProblem(task) ?? 'none');
}

function readTask(value: Buffer | null, headers: IHeaders | undefined): DeliveryTask | null {
  if (value === null) return null;
  const get = (n: string): string | undefined => headerString(headers, n);
  const num = (n: string): number => Number(get(n));
  const task: DeliveryTask = {
    deliveryId: get(H.deliveryId) ?? '',
    endpointId: get(H.endpointId) ?? '',
    eventId: get(H.eventId) ?? '',
    eventType: get(H.eventType) ?? '',
    eventTimestampMs: num(H.eventTimestamp),
    series: num(H.series),
    attempt: num(H.attempt),
    firstAttemptAtMs: num(H.firstAttemptAt),
    dueAtMs: num(H.dueAt),
    delayMs: num(H.delayMs),
    body: value,
  };
  if (get(H.ordering) === 'per_key') task.ordered = true;
  const trace = readTraceContext(headers);
  if (trace !== null) task.trace = trace;
  return task;
}

/**
 * Why a decoded task cannot be used, or null. Each value is checked as tightly as the columns it
 * reaches: a task that passed with a non-UUID id would be refused by Postgres on every try.
 */
function taskProblem(task: DeliveryTask): string | null {
  if (!isUuid(task.deliveryId)) return `${H.deliveryId} is not a UUID`;
  if (!isUuid(task.endpointId)) return `${H.endpointId} is not a UUID`;
  if (!task.eventId) return `${H.eventId} is missing`;
  if (!task.eventType) return `${H.eventType} is missing`;
  for (const [name, n] of [
    [H.series, task.series],
    [H.attempt, task.attempt],
  ] as const) {
    if (!Number.isInteger(n) || n < 1 || n > INT4_MAX) return `${name} is not a positive 32-bit integer`;
  }
  if (!Number.isInteger(task.delayMs) || task.delayMs < 0 || task.delayMs > INT4_MAX) return `${H.delayMs} is out of range`;
  for (const [name, ms] of [
    [H.eventTimestamp, task.eventTimestampMs],
    [H.firstAttemptAt, task.firstAttemptAtMs],
    [H.dueAt, task.dueAtMs],
  ] as const) {
    if (!Number.isFinite(ms) || Math.abs(ms) > MAX_DATE_MS) return `${name} is not a time`;
  }
  return null;
}
