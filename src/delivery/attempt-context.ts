import type { Endpoint } from '../endpoints/endpoint.ts';
import type { AttemptRecord, DeliveryRecord } from '../log/delivery-log-writer.ts';
import type { DeliveryTask } from '../retry/retry-message.ts';
import type { TraceContext } from '../tracing/trace-context.ts';
import type { AttemptResult } from './deliverer.ts';

/** One attempt to make, first or retried, and everything its log rows need. */
export interface AttemptContext {
  endpoint: Endpoint;
  deliveryId: string;
  eventId: string;
  eventType: string;
  eventTimestampMs: number;
  series: number;
  attempt: number;
  firstAttemptAtMs: number | null;
  /** The delay that preceded this attempt and when it was due (null for a first attempt). */
  delayMs: number | null;
  dueAtMs: number | null;
  body: Buffer;
  /** Where the event was read, for a first attempt from an input topic. */
  source: DeliveryRecord['source'];
  /** In a per-key queue: when it settles, the next delivery of its key is released. */
  ordered?: boolean;
  /** The producer's trace context, continued by every attempt; null when the event had none. */
  trace: TraceContext | null;
}

/** The context of the first attempt of a delivery of an input event. */
export function firstAttemptContext(
  endpoint: Endpoint,
  deliveryId: string,
  eventId: string,
  envelope: { event: string; timestampMs: number },
  body: Buffer,
  source: NonNullable<DeliveryRecord['source']>,
  trace: TraceContext | null,
): AttemptContext {
  return {
    endpoint,
    deliveryId,
    eventId,
    eventType: envelope.event,
    eventTimestampMs: envelope.timestampMs,
    series: 1,
    attempt: 1,
    firstAttemptAtMs: null,
    delayMs: null,
    dueAtMs: null,
    body,
    source,
    trace,
  };
}

/** The context of a retried attempt; a deleted endpoint is stood in for by a disabled stub. */
export function contextFromTask(task: DeliveryTask, endpoint: Endpoint | null): AttemptContext {
  return {
    endpoint: endpoint ?? {
      id: task.endpointId,
      name: '',
      url: '',
      secret: '',
      previousSecret: null,
      previousSecretExpiresAt: null,
      eventTypes: [],
      enabled: false,
    },
    deliveryId: task.deliveryId,
    eventId: task.eventId,
    eventType: task.eventType,
    eventTimestampMs: task.eventTimestampMs,
    series: task.series,
    attempt: task.attempt,
    // 0: a delivery parked by its rate limit before any attempt (see Dispatcher's #park).
    firstAttemptAtMs: task.firstAttemptAtMs > 0 ? task.firstAttemptAtMs : null,
    delayMs: task.delayMs,
    dueAtMs: task.dueAtMs,
    body: task.body,
    source: null,
    ...(task.ordered ? { ordered: true } : {}),
    trace: task.trace ?? null,
  };
}

/** What names a delivery and its event, as the delay-topic task and the deliveries row both carry it. */
function deliveryIdentity(
  ctx: AttemptContext,
): Pick<DeliveryTask, 'deliveryId' | 'endpointId' | 'eventId' | 'eventType' | 'eventTimestampMs'> {
  return {
    deliveryId: ctx.deliveryId,
    endpointId: ctx.endpoint.id,
    eventId: ctx.eventId,
    eventType: ctx.eventType,
    eventTimestampMs: ctx.eventTimestampMs,
  };
}

/** The task of the attempt in `ctx` (as it would travel on a delay topic), for the retry scheduler. */
export function taskOf(ctx: AttemptContext, nowMs: number): DeliveryTask {
  return {
    ...deliveryIdentity(ctx),
    series: ctx.series,
    attempt: ctx.attempt,
    firstAttemptAtMs: ctx.firstAttemptAtMs ?? nowMs,
    dueAtMs: ctx.dueAtMs ?? nowMs,
    delayMs: ctx.delayMs ?? 0,
    body: ctx.body,
    ...(ctx.ordered ? { ordered: true } : {}),
    trace: ctx.trace,
  };
}

/** The `webhooks.attempts` row of an HTTP attempt; `traceparent` is the one sent, if any. */
export function attemptRecord(ctx: AttemptContext, result: AttemptResult, traceparent: string | null): AttemptRecord {
  return {
    deliveryId: ctx.deliveryId,
    endpointId: ctx.endpoint.id,
    series: ctx.series,
    attempt: ctx.attempt,
    startedAt: result.startedAt,
    durationMs: result.durationMs,
    delayMs: ctx.delayMs,
    dueAtMs: ctx.dueAtMs,
    url: ctx.endpoint.url,
    outcome: result.outcome,
    statusCode: result.statusCode,
    errorKind: result.errorKind,
    error: result.error,
    responseBody: result.responseBody,
    traceparent,
  };
}

/** The attempt row of a delivery cancelled before its attempt (endpoint disabled or deleted). */
export function cancelledAttemptRecord(ctx: AttemptContext, reason: string | null, nowMs: number): AttemptRecord {
  return {
    deliveryId: ctx.deliveryId,
    endpointId: ctx.endpoint.id,
    series: ctx.series,
    attempt: ctx.attempt,
    startedAt: new Date(nowMs),
    durationMs: 0,
    delayMs: ctx.delayMs,
    dueAtMs: ctx.dueAtMs,
    url: ctx.endpoint.url,
    outcome: 'cancelled',
    statusCode: null,
    errorKind: 'cancelled',
    error: reason,
    responseBody: null,
    traceparent: null,
  };
}

/** How a delivery settles: its new status and why, with the attempt that led there, if any. */
export interface Settlement {
  status: DeliveryRecord['status'];
  reason?: string | null;
  /** Attempts made in the series so far. */
  attempts: number;
  /** Null: a decision without an attempt (a cancellation). */
  attempt: AttemptRecord | null;
  /** When the next attempt is due (`retrying` only). */
  nextAttemptAtMs?: number | null;
}

/** The `webhooks.deliveries` state a settlement leaves. */
export function deliveryRecord(ctx: AttemptContext, settlement: Settlement): DeliveryRecord {
  const { status, attempts, attempt } = settlement;
  return {
    ...deliveryIdentity(ctx),
    status,
    statusReason: settlement.reason ?? null,
    series: ctx.series,
    attempts,
    lastStatusCode: attempt?.statusCode ?? null,
    lastError: attempt?.error ?? null,
    firstAttemptAtMs: ctx.firstAttemptAtMs,
    lastAttemptAtMs: attempt ? attempt.startedAt.getTime() : null,
    nextAttemptAtMs: settlement.nextAttemptAtMs ?? null,
    // Failed deliveries keep their body so an admin can redeliver them later.
    payload: status === 'succeeded' || status === 'cancelled' || (status === 'retrying' && ctx.attempt > 1) ? null : ctx.body,
    source: ctx.source,
  };
}

/** The result of an attempt not sent because its endpoint stalled (`inFlight` requests, none answered lately). */
export function stalledResult(inFlight: number, nowMs: number): AttemptResult {
  return {
    outcome: 'failed',
    statusCode: null,
    errorKind: 'stalled',
    error: `not sent: the endpoint stopped answering (${inFlight} requests in flight, none answered recently)`,
    responseBody: null,
    durationMs: 0,
    startedAt: new Date(nowMs),
    retryAfterMs: null,
    permanent: false,
    retryable: true,
  };
}
