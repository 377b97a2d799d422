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

/**
 * How a task's fields travel on a delay topic:
 * - `headers`: one header each (the names in `H`), what every dispatcher reads. The dead-letter
 *   topic, which people and their tools read, always has this format.
 * - `compact`: all of them in the one header `task` (a JSON array, see `compactTask`), what
 *   dispatchers read from c0e03c1 on. kafkajs encodes each record header with a buffer of its
 *   own (a 512-byte `Buffer.alloc` per header), so ten headers cost more than the 1 KiB body: a
 *   hung endpoint's stalled attempts are a retry message each.
 * A dispatcher reads both. One that predates `compact` refuses such a task (to the invalid topic),
 * so the writer's format is a setting (RETRY_MESSAGE_FORMAT): `compact` by default, `headers`
 * while a rollout from a dispatcher older than c0e03c1 is under way.
 */
export type TaskFormat = 'headers' | 'compact';
export const TASK_FORMATS: readonly TaskFormat[] = ['headers', 'compact'];

/** The header of the compact format, and the version its array starts with. */
export const COMPACT_HEADER = 'task';
const COMPACT_VERSION = 2;

export function encodeTask(
  task: DeliveryTask,
  extra: Record<string, string> = {},
  format: TaskFormat = 'headers',
): { key: string; value: Buffer; headers: IHeaders } {
  if (format === 'compact') {
    return {
      key: task.deliveryId,
      value: task.body,
      headers: { [COMPACT_HEADER]: compactTask(task), ...traceHeaders(task.trace), ...extra },
    };
  }
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

/**
 * The compact format's header: `[2, dueAt, deliveryId, endpointId, eventId, eventType,
 * eventTimestamp, series, attempt, firstAttemptAt, delayMs, ordered]` (times in ms since the epoch,
 * `ordered` 1 or 0). The due time comes first so the delay consumer reads it without parsing the rest.
 */
function compactTask(t: DeliveryTask): string {
  return JSON.stringify([
    COMPACT_VERSION,
    t.dueAtMs,
    t.deliveryId,
    t.endpointId,
    t.eventId,
    t.eventType,
    t.eventTimestampMs,
    t.series,
    t.attempt,
    t.firstAttemptAtMs,
    t.delayMs,
    t.ordered ? 1 : 0,
  ]);
}

const COMPACT_PREFIX = `[${COMPACT_VERSION},`;

/** The due time alone, read without decoding the rest (the delay consumer checks it first). */
export function taskDueAt(headers: IHeaders | undefined): number {
  const compact = headerString(headers, COMPACT_HEADER);
  let v: number;
  if (compact === undefined) v = Number(headerString(headers, H.dueAt));
  else {
    const end = compact.indexOf(',', COMPACT_PREFIX.length);
    v = compact.startsWith(COMPACT_PREFIX) && end > 0 ? Number(compact.slice(COMPACT_PREFIX.length, end)) : Number.NaN;
  }
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
  if (task === null)
    return value === null ? 'the value is null' : `the ${COMPACT_HEADER} header is not a task of version ${COMPACT_VERSION}`;
  return taskProblem(task) ?? 'none';
}

function readTask(value: Buffer | null, headers: IHeaders | undefined): DeliveryTask | null {
  if (value === null) return null;
  const compact = headerString(headers, COMPACT_HEADER);
  const task = compact === undefined ? readHeaderTask(value, headers) : readCompactTask(value, compact);
  if (task === null) return null;
  const trace = readTraceContext(headers);
  if (trace !== null) task.trace = trace;
  return task;
}

/**
 * A compact task with each field as it came (taskProblem judges them), or null when the header is
 * not one: not JSON, not an array of the right length, another version.
 */
function readCompactTask(value: Buffer, text: string): DeliveryTask | null {
  let a: unknown;
  try {
    a = JSON.parse(text);
  } catch {
    return null;
  }
  if (!Array.isArray(a) || a.length !== 12 || a[0] !== COMPACT_VERSION) return null;
  const str = (v: unknown): string => (typeof v === 'string' ? v : '');
  const num = (v: unknown): number => (typeof v === 'number' ? v : Number.NaN);
  const task: DeliveryTask = {
    dueAtMs: num(a[1]),
    deliveryId: str(a[2]),
    endpointId: str(a[3]),
    eventId: str(a[4]),
    eventType: str(a[5]),
    eventTimestampMs: num(a[6]),
    series: num(a[7]),
    attempt: num(a[8]),
    firstAttemptAtMs: num(a[9]),
    delayMs: num(a[10]),
    body: value,
  };
  if (a[11] === 1) task.ordered = true;
  else if (a[11] !== 0) return null;
  return task;
}

function readHeaderTask(value: Buffer, headers: IHeaders | undefined): DeliveryTask {
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
