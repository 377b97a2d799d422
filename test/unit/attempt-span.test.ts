import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import type { AttemptContext } from '../../src/delivery/attempt-context.ts';
import { createDeliverer, type Deliverer } from '../../src/delivery/deliverer.ts';
import { createEgressGuard, parseAllowNetworks } from '../../src/delivery/egress-guard.ts';
import { sendAttempt } from '../../src/delivery/send-attempt.ts';
import { startAttemptTrace, tracingEnabled } from '../../src/tracing/attempt-span.ts';
import type { TraceContext } from '../../src/tracing/trace-context.ts';

// One process per test file (node --test): the global tracer provider registered below is this
// file's alone. The tests run in order: without an SDK first, then with one.

const PARENT: TraceContext = {
  traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
  parentSpanId: '00f067aa0ba902b7',
  flags: '01',
  tracestate: 'v=1',
};
const received: http.IncomingHttpHeaders[] = [];
let server: http.Server;
let url: string;
let deliverer: Deliverer;

function context(attempt: number, status: number): AttemptContext {
  return {
    endpoint: {
      id: '0b9f8a52-6d0e-4a55-9a38-1f2d3c4b5a69',
      name: 'span-test',
      url: `${url}/${status}`,
      secret: 'whsec_' + Buffer.alloc(32, 1).toString('base64'),
      previousSecret: null,
      previousSecretExpiresAt: null,
      eventTypes: ['*'],
      enabled: true,
    },
    deliveryId: '6f1c2b8e-2f4a-5b7c-8d9e-0a1b2c3d4e5f',
    eventId: 'e1',
    eventType: 'call.ended',
    eventTimestampMs: Date.now(),
    series: 1,
    attempt,
    firstAttemptAtMs: null,
    delayMs: null,
    dueAtMs: null,
    body: Buffer.from('{"event":"call.ended","timestamp":"2026-01-01T00:00:00Z","data":{}}'),
    source: null,
    trace: PARENT,
  };
}

before(async () => {
  server = http.createServer((req, res) => {
    received.push(req.headers);
    req.resume();
    req.on('end', () => res.writeHead(Number(req.url!.slice(1))).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  deliverer = createDeliverer({
    timeoutMs: 10_000,
    responseReadBytes: 1024,
    responseStoreBytes: 256,
    userAgent: 'span-test',
    requireHttps: false,
    guard: createEgressGuard(parseAllowNetworks(['127.0.0.0/8'])),
  });
});

after(async () => {
  await deliverer.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  trace.disable();
  propagation.disable();
});

test('without an SDK no span is made and the traceparent is the pure child of the producer span', async () => {
  assert.equal(tracingEnabled(), false);
  const t = startAttemptTrace(PARENT, context(1, 200));
  assert.equal(t.span, null);
  assert.match(t.traceparent!, new RegExp(`^00-${PARENT.traceId}-[0-9a-f]{16}-01$`));
  assert.equal(t.tracestate, 'v=1');
  assert.equal(startAttemptTrace(null, context(1, 200)).traceparent, null, 'no trace is started without an SDK');
  const sent = await sendAttempt(deliverer, context(1, 200), ['s'], new AbortController().signal);
  assert.equal(received.at(-1)!.traceparent, sent.traceparent);
});

test('with an SDK registered each attempt is a CLIENT span, child of the producer span, and its context is what is sent', async () => {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  assert.ok(trace.setGlobalTracerProvider(provider));
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  assert.equal(tracingEnabled(), true);

  const ok = await sendAttempt(deliverer, context(1, 200), ['s'], new AbortController().signal);
  const failed = await sendAttempt(deliverer, context(2, 503), ['s'], new AbortController().signal);
  await provider.forceFlush();
  const spans = exporter.getFinishedSpans();
  assert.equal(spans.length, 2);
  const [s1, s2] = spans as [(typeof spans)[0], (typeof spans)[0]];
  for (const [span, sent, attempt] of [
    [s1, ok, 1],
    [s2, failed, 2],
  ] as const) {
    assert.equal(span.kind, SpanKind.CLIENT);
    assert.equal(span.spanContext().traceId, PARENT.traceId);
    assert.equal(span.parentSpanContext?.spanId, PARENT.parentSpanId);
    assert.equal(sent.traceparent, `00-${PARENT.traceId}-${span.spanContext().spanId}-01`, 'the span is what the receiver sees');
    assert.equal(span.attributes['webhook.endpoint.id'], '0b9f8a52-6d0e-4a55-9a38-1f2d3c4b5a69');
    assert.equal(span.attributes['webhook.event.type'], 'call.ended');
    assert.equal(span.attributes['webhook.delivery.id'], '6f1c2b8e-2f4a-5b7c-8d9e-0a1b2c3d4e5f');
    assert.equal(span.attributes['webhook.attempt'], attempt);
  }
  assert.equal(s1.attributes['http.response.status_code'], 200);
  assert.equal(s1.status.code, SpanStatusCode.UNSET);
  assert.equal(s2.attributes['http.response.status_code'], 503);
  assert.equal(s2.status.code, SpanStatusCode.ERROR);
  assert.equal(s2.status.message, 'HTTP 503');
  assert.equal(received.at(-1)!.traceparent, failed.traceparent);
  assert.equal(received.at(-1)!.tracestate, 'v=1');
  await provider.shutdown();
});
