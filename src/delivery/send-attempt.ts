import { signingSecrets } from '../endpoints/endpoint.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { endAttemptTrace, startAttemptTrace } from '../tracing/attempt-span.ts';
import { stalledResult, type AttemptContext } from './attempt-context.ts';
import type { AttemptResult, Deliverer } from './deliverer.ts';
import type { EndpointLimiter } from './endpoint-limiter.ts';
import type { EndpointThrottle } from './endpoint-throttle.ts';

/** An attempt's result and the traceparent it was sent with (null: none), for its log row. */
export interface SentAttempt {
  result: AttemptResult;
  traceparent: string | null;
}

/**
 * Sends the attempt in `ctx` with the endpoint's headers and the trace context continued from the
 * producer (a span around it when an OpenTelemetry SDK is registered). Never throws, like deliver().
 */
export async function sendAttempt(
  deliverer: Deliverer,
  ctx: AttemptContext,
  secrets: readonly string[],
  signal: AbortSignal,
): Promise<SentAttempt> {
  const trace = startAttemptTrace(ctx.trace, ctx);
  const result = await deliverer.deliver({
    url: ctx.endpoint.url,
    deliveryId: ctx.deliveryId,
    eventType: ctx.eventType,
    attempt: ctx.attempt,
    body: ctx.body,
    secrets,
    headers: ctx.endpoint.headers,
    traceparent: trace.traceparent,
    tracestate: trace.tracestate,
    signal,
  });
  endAttemptTrace(trace, result);
  return { result, traceparent: trace.traceparent };
}

/** What sendWithinLimits needs, built once by the dispatcher. */
export interface AttemptSenderParts {
  limiter: EndpointLimiter;
  throttle: EndpointThrottle;
  deliverer: Deliverer;
  metrics: Metrics;
  now: () => number;
}

/**
 * Sends the attempt within its endpoint's in-flight limit (its `max_in_flight`, or
 * ENDPOINT_CONCURRENCY) and slows the endpoint's throttle when it answers 429. Its rate limit has
 * been passed already (the dispatcher waits or parks first).
 */
export async function sendWithinLimits(ctx: AttemptContext, parts: AttemptSenderParts, signal: AbortSignal): Promise<SentAttempt> {
  const { limiter, metrics } = parts;
  const { endpoint } = ctx;
  const granted = limiter.acquire(endpoint.id, endpoint.maxInFlight);
  const release = granted instanceof Promise ? await granted : granted;
  if (!release) {
    // The endpoint has stalled: its request slots are full and none has freed for
    // ENDPOINT_STALL_MS. Waiting for a slot would hold this Kafka message (and with it the
    // partition's commit) hostage, so the attempt fails at once, unsent, and follows the retry
    // schedule like any failure: a circuit breaker that closes as soon as the endpoint answers.
    return { result: stalledResult(limiter.active(endpoint.id), parts.now()), traceparent: null };
  }
  metrics.deliveriesInFlight.inc();
  let answered = false;
  let sent: SentAttempt;
  try {
    sent = await sendAttempt(parts.deliverer, ctx, signingSecrets(endpoint, parts.now()), signal);
    answered = sent.result.errorKind !== 'timeout' && sent.result.errorKind !== 'aborted';
  } finally {
    metrics.deliveriesInFlight.dec();
    release(answered);
  }
  if (sent.result.statusCode === 429) parts.throttle.slowDown(endpoint.id, endpoint.maxPerSecond, sent.result.retryAfterMs);
  return sent;
}
