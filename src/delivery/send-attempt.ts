import { endAttemptTrace, startAttemptTrace } from '../tracing/attempt-span.ts';
import type { AttemptContext } from './attempt-context.ts';
import type { AttemptResult, Deliverer } from './deliverer.ts';

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
    ...(ctx.endpoint.headers === undefined ? {} : { headers: ctx.endpoint.headers }),
    traceparent: trace.traceparent,
    tracestate: trace.tracestate,
    signal,
  });
  endAttemptTrace(trace, result);
  return { result, traceparent: trace.traceparent };
}
