/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/) without an OpenTelemetry SDK: the
 * producer's `traceparent` and `tracestate` Kafka headers are continued in each webhook POST as a
 * child span, with the same trace-id and flags, a new span-id per attempt and the producer's
 * span-id as parent. Pure functions, cheap enough for every attempt: a lookup per message, one
 * random fill and one string per attempt.
 *
 * A malformed `traceparent` is ignored with its `tracestate` (the spec: a vendor that cannot
 * parse traceparent must not parse tracestate). Without an SDK the dispatcher originates no
 * trace, so such an attempt carries no trace headers at all; with an SDK the attempt's span
 * starts a new trace and that is what is sent (attempt-span.ts).
 */
import { randomFillSync } from 'node:crypto';
import type { IHeaders } from 'kafkajs';

/** The producer's trace context as read from a Kafka message: what each attempt continues. */
export interface TraceContext {
  /** 32 lowercase hex digits, not all zero. */
  traceId: string;
  /** The producer's span-id: the parent of every attempt's span. 16 lowercase hex digits. */
  parentSpanId: string;
  /** Two lowercase hex digits, passed on as received (bit 0: sampled). */
  flags: string;
  /** Passed on as received when valid enough to send; null when absent. */
  tracestate: string | null;
}

const TRACEPARENT_RE = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);
// The spec's limit for tracestate is 32 list members; 512 characters is what it says a vendor may
// always propagate. Printable ASCII only: anything else could not go into an HTTP header.
const TRACESTATE_MAX = 512;
const TRACESTATE_RE = /^[\x20-\x7e]*$/;

/** `traceparent` parsed per the spec's version rules, or null when it must be ignored. */
export function parseTraceparent(text: string): Omit<TraceContext, 'tracestate'> | null {
  const m = TRACEPARENT_RE.exec(text.trim());
  if (m === null) return null;
  const [, version, traceId, parentSpanId, flags, rest] = m as unknown as [string, string, string, string, string, string?];
  // Version ff is invalid; version 00 has exactly four fields; a later version may add fields
  // after a dash, which are ignored (we send version 00).
  if (version === 'ff' || (version === '00' && rest !== undefined)) return null;
  if (traceId === ZERO_TRACE || parentSpanId === ZERO_SPAN) return null;
  return { traceId, parentSpanId, flags };
}

/**
 * The trace context of a Kafka message (headers `traceparent` and `tracestate`), or null when it
 * has none or an unusable one. Two traceparent values are one too many: ignored.
 */
export function readTraceContext(headers: IHeaders | undefined): TraceContext | null {
  const raw = headers?.traceparent;
  if (raw === undefined || raw === null) return null;
  const one = single(raw);
  if (one === null) return null;
  const parent = parseTraceparent(one);
  if (parent === null) return null;
  const state = headers!.tracestate;
  return { ...parent, tracestate: state === undefined || state === null ? null : usableTracestate(state) };
}

function single(v: NonNullable<IHeaders[string]>): string | null {
  if (Array.isArray(v)) return v.length === 1 ? text(v[0]!) : null;
  return text(v);
}

function text(v: Buffer | string): string {
  return typeof v === 'string' ? v : v.toString('latin1');
}

// Several tracestate headers are one list, joined with commas (the spec allows splitting it).
function usableTracestate(v: NonNullable<IHeaders[string]>): string | null {
  const joined = (Array.isArray(v) ? v.map(text) : [text(v)]).map((s) => s.trim()).join(',');
  if (joined === '' || joined.length > TRACESTATE_MAX || !TRACESTATE_RE.test(joined)) return null;
  return joined;
}

// Span-ids come from a pool of random bytes filled 512 ids at a time: one call into the CSPRNG
// per fill instead of one per attempt (each call costs microseconds), nothing allocated per id
// but its hex string.
const POOL_IDS = 512;
const pool = Buffer.alloc(8 * POOL_IDS);
let poolOffset = pool.length;

/** A random span-id (16 lowercase hex digits, never all zero). */
export function newSpanId(): string {
  let id: string;
  do {
    if (poolOffset === pool.length) {
      randomFillSync(pool);
      poolOffset = 0;
    }
    id = pool.toString('hex', poolOffset, poolOffset + 8);
    poolOffset += 8;
  } while (id === ZERO_SPAN);
  return id;
}

/** The `traceparent` of a child span of `parent` (version 00, same trace-id and flags). */
export function childTraceparent(parent: Pick<TraceContext, 'traceId' | 'flags'>, spanId: string = newSpanId()): string {
  return `00-${parent.traceId}-${spanId}-${parent.flags}`;
}

/** `traceparent` of a trace context, the producer's span (as it travels on the retry topics). */
export function formatTraceparent(trace: Pick<TraceContext, 'traceId' | 'parentSpanId' | 'flags'>): string {
  return `00-${trace.traceId}-${trace.parentSpanId}-${trace.flags}`;
}

/** The Kafka headers that carry `trace` on (retry and dead-letter topics); none for null. */
export function traceHeaders(trace: TraceContext | null | undefined): Record<string, string> {
  if (!trace) return {};
  const headers: Record<string, string> = { traceparent: formatTraceparent(trace) };
  if (trace.tracestate !== null) headers.tracestate = trace.tracestate;
  return headers;
}
