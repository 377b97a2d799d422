import assert from 'node:assert/strict';
import { test } from 'node:test';
import { childTraceparent, newSpanId, parseTraceparent, readTraceContext, traceHeaders } from '../../src/tracing/trace-context.ts';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN = '00f067aa0ba902b7';
const VALID = `00-${TRACE}-${SPAN}-01`;

test('a version-00 traceparent parses into trace id, parent span id and flags', () => {
  assert.deepEqual(parseTraceparent(VALID), { traceId: TRACE, parentSpanId: SPAN, flags: '01' });
});

test('traceparents the W3C spec says to ignore are refused', () => {
  for (const bad of [
    '',
    `00-${TRACE.toUpperCase()}-${SPAN}-01`,
    `00-${'0'.repeat(32)}-${SPAN}-01`,
    `00-${TRACE}-${'0'.repeat(16)}-01`,
    `ff-${TRACE}-${SPAN}-01`,
    `00-${TRACE}-${SPAN}-01-extra`,
    `00-${TRACE}-${SPAN}-1`,
    `00-${TRACE.slice(1)}-${SPAN}-01`,
    `0-${TRACE}-${SPAN}-01`,
  ]) {
    assert.equal(parseTraceparent(bad), null, bad);
  }
});

test('a later version is read for its first four fields and its extra fields are ignored', () => {
  assert.deepEqual(parseTraceparent(`01-${TRACE}-${SPAN}-03-whatever`), { traceId: TRACE, parentSpanId: SPAN, flags: '03' });
  assert.equal(parseTraceparent(`01-${TRACE}-${SPAN}-03x`), null);
});

test('the child traceparent keeps trace id and flags, is version 00 and has the new span id', () => {
  assert.equal(childTraceparent({ traceId: TRACE, flags: '03' }, 'a'.repeat(16)), `00-${TRACE}-${'a'.repeat(16)}-03`);
  const child = childTraceparent({ traceId: TRACE, flags: '01' });
  const parsed = parseTraceparent(child)!;
  assert.equal(parsed.traceId, TRACE);
  assert.notEqual(parsed.parentSpanId, SPAN);
});

test('span ids are 16 lowercase hex digits and differ from call to call', () => {
  const ids = new Set(Array.from({ length: 1000 }, () => newSpanId()));
  assert.equal(ids.size, 1000);
  for (const id of ids) assert.match(id, /^[0-9a-f]{16}$/);
});

test('Kafka headers give the trace context, strings or buffers, with a printable tracestate', () => {
  assert.deepEqual(readTraceContext({ traceparent: Buffer.from(VALID), tracestate: Buffer.from('a=1,b=2') }), {
    traceId: TRACE,
    parentSpanId: SPAN,
    flags: '01',
    tracestate: 'a=1,b=2',
  });
  assert.equal(readTraceContext({ traceparent: VALID })!.tracestate, null);
  assert.equal(readTraceContext({ traceparent: VALID, tracestate: ['a=1', 'b=2'] })!.tracestate, 'a=1,b=2');
  assert.equal(readTraceContext({ traceparent: VALID, tracestate: 'a=1\r\nX-Injected: 1' })!.tracestate, null);
  assert.equal(readTraceContext({ traceparent: VALID, tracestate: 'a='.padEnd(600, 'x') })!.tracestate, null);
});

test('no, two or a malformed traceparent header give no trace context', () => {
  assert.equal(readTraceContext(undefined), null);
  assert.equal(readTraceContext({}), null);
  assert.equal(readTraceContext({ traceparent: [VALID, VALID] }), null);
  assert.equal(readTraceContext({ traceparent: 'garbage', tracestate: 'a=1' }), null);
});

test('the retry topics carry the producer span on unchanged', () => {
  const trace = readTraceContext({ traceparent: VALID, tracestate: 'a=1' });
  assert.deepEqual(traceHeaders(trace), { traceparent: VALID, tracestate: 'a=1' });
  assert.deepEqual(readTraceContext(traceHeaders(trace)), trace);
  assert.deepEqual(traceHeaders(null), {});
});
