/**
 * The trace of one attempt. Without an OpenTelemetry SDK (the default: nothing registers one) it
 * is the W3C child traceparent of trace-context.ts and nothing else: no span object, no context,
 * no propagator call. When an application registers an SDK (a tracer provider through
 * `@opentelemetry/api`), a CLIENT span covers the attempt, as a child of the producer's span, and
 * the headers sent are the registered propagator's (W3C trace context when the SDK set it up), or
 * the span's own context in W3C form when no propagator is registered.
 */
import {
  createTraceState,
  propagation,
  ProxyTracerProvider,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Context,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import pkg from '../../package.json' with { type: 'json' };
import { childTraceparent, formatTraceparent, type TraceContext } from './trace-context.ts';

/** What the span of an attempt records (an attempt's context has these fields: nothing to build). */
export interface AttemptSpanFields {
  endpoint: { id: string };
  eventType: string;
  deliveryId: string;
  attempt: number;
}

/** The trace headers of one attempt, and its span when an SDK is registered. */
export interface AttemptTrace {
  traceparent: string | null;
  tracestate: string | null;
  span: Span | null;
}

/** How an attempt ended, as its span records it. */
export interface AttemptSpanResult {
  outcome: 'succeeded' | 'failed';
  statusCode: number | null;
  errorKind: string | null;
  error: string | null;
}

// The API's provider before any SDK registers: a ProxyTracerProvider whose delegate is the API's
// no-op provider. A fresh proxy returns that same no-op singleton, so comparing with it tells
// "registered" from "not" without creating a tracer or a span.
const NOOP_PROVIDER = new ProxyTracerProvider().getDelegate();
const NO_TRACE: AttemptTrace = Object.freeze({ traceparent: null, tracestate: null, span: null });

/** True when an OpenTelemetry SDK has registered a global tracer provider. */
export function tracingEnabled(): boolean {
  const provider = trace.getTracerProvider();
  return !(provider instanceof ProxyTracerProvider) || provider.getDelegate() !== NOOP_PROVIDER;
}

let tracer: Tracer | null = null;

/** Starts the trace of an attempt: a child of `parent` (the producer's span) when there is one. */
export function startAttemptTrace(parent: TraceContext | null, fields: AttemptSpanFields): AttemptTrace {
  if (!tracingEnabled()) {
    return parent === null ? NO_TRACE : { traceparent: childTraceparent(parent), tracestate: parent.tracestate, span: null };
  }
  tracer ??= trace.getTracer(pkg.name, pkg.version);
  const parentContext = parent === null ? ROOT_CONTEXT : contextOf(parent);
  const span = tracer.startSpan(
    'webhook POST',
    {
      kind: SpanKind.CLIENT,
      attributes: {
        'http.request.method': 'POST',
        'webhook.endpoint.id': fields.endpoint.id,
        'webhook.event.type': fields.eventType,
        'webhook.delivery.id': fields.deliveryId,
        'webhook.attempt': fields.attempt,
      },
    },
    parentContext,
  );
  const carrier: Record<string, string> = {};
  propagation.inject(trace.setSpan(parentContext, span), carrier);
  if (carrier.traceparent !== undefined) {
    return { traceparent: carrier.traceparent, tracestate: carrier.tracestate ?? null, span };
  }
  const own = span.spanContext();
  if (!trace.isSpanContextValid(own)) return { ...NO_TRACE, span };
  const flags = (own.traceFlags & 0xff).toString(16).padStart(2, '0');
  const traceparent = formatTraceparent({ traceId: own.traceId, parentSpanId: own.spanId, flags });
  return { traceparent, tracestate: own.traceState?.serialize() || parent?.tracestate || null, span };
}

/** Ends the attempt's span (if any) with its outcome: status ERROR and the error for a failure. */
export function endAttemptTrace(t: AttemptTrace, result: AttemptSpanResult): void {
  const span = t.span;
  if (span === null) return;
  if (result.statusCode !== null) span.setAttribute('http.response.status_code', result.statusCode);
  if (result.outcome === 'failed') {
    if (result.errorKind !== null) span.setAttribute('error.type', result.errorKind);
    span.setStatus({ code: SpanStatusCode.ERROR, ...(result.error === null ? {} : { message: result.error }) });
  }
  span.end();
}

// The producer's span as the parent: through the registered propagator when there is one (the
// SDK's W3C propagator), else set directly; both give the same remote span context.
function contextOf(parent: TraceContext): Context {
  const carrier: Record<string, string> = { traceparent: formatTraceparent(parent) };
  if (parent.tracestate !== null) carrier.tracestate = parent.tracestate;
  const extracted = propagation.extract(ROOT_CONTEXT, carrier);
  if (trace.getSpanContext(extracted) !== undefined) return extracted;
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId: parent.traceId,
    spanId: parent.parentSpanId,
    traceFlags: Number.parseInt(parent.flags, 16),
    isRemote: true,
    ...(parent.tracestate === null ? {} : { traceState: createTraceState(parent.tracestate) }),
  });
}
