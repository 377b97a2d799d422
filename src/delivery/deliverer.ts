/**
 * One webhook attempt: sign the body, POST it with undici, read a bounded slice of the response and
 * classify the outcome. `deliver()` never throws: every failure comes back as data, which is also
 * the attempt row of the delivery log. This is the throughput-critical path: one shared Agent, no
 * JSON work, nothing per request that could be computed once.
 */
import { addEndpointHeaders, type EndpointHeaders } from '../endpoints/endpoint-headers.ts';
import { unwatchAbort, watchAbort } from './abort-watchers.ts';
import { AttemptHandler } from './attempt-handler.ts';
import { DeadlineList } from './deadline-list.ts';
import { describeError, errorCode, findBlocked, TIMEOUT_CODES } from './attempt-errors.ts';
import { targetCache } from './attempt-target.ts';
import { createDeliveryDispatcher } from './egress-connector.ts';
import { createEgressGuard, type EgressGuard } from './egress-guard.ts';
import { parseRetryAfter, rawHeaderValue, redirectTarget } from './response-reader.ts';
import { signatureHeader, standardSignatureHeader } from './signing.ts';

/**
 * Why an attempt failed: the receiver answered with a non-2xx status (`http_status`) or a 3xx
 * (`redirect`, never followed); the attempt ran out of time (`timeout`); the connection failed
 * (`network`); or we aborted it for shutdown (`aborted`). `stalled` is the dispatcher's own: the
 * request was not sent because the endpoint had stopped answering the requests already in flight.
 * Two are refusals, never retried: the egress guard denied the address (`blocked`), or the URL is
 * plain http while REQUIRE_HTTPS is on (`insecure_url`); nothing was sent to the endpoint.
 */
export type ErrorKind = 'http_status' | 'redirect' | 'timeout' | 'network' | 'aborted' | 'stalled' | 'blocked' | 'insecure_url';

export interface AttemptRequest {
  /** The endpoint URL (http or https). */
  url: string;
  /** The delivery id, stable across retries; also the `webhook-id` header. */
  deliveryId: string;
  /** Sent as `X-Webhook-Event`. */
  eventType: string;
  /** Sent as `X-Webhook-Attempt`; 1-based. */
  attempt: number;
  /** The envelope JSON bytes, built once by the caller and sent as is. */
  body: Buffer;
  /** Current secret first, then still-valid previous ones (rotation). `X-Webhook-Signature` uses `secrets[0]`. */
  secrets: readonly string[];
  /**
   * The endpoint's own headers (e.g. `Authorization`). Ours win: a name the dispatcher sends
   * (any case) or reserves is never taken from here, so the signatures on the wire are always ours.
   */
  headers?: EndpointHeaders | undefined;
  /** W3C `traceparent` of this attempt's span, and the `tracestate` passed on; omitted when null. */
  traceparent?: string | null;
  tracestate?: string | null;
  /** Shutdown: aborts the attempt in flight (the result's kind is `aborted`). */
  signal?: AbortSignal;
}

export interface AttemptResult {
  outcome: 'succeeded' | 'failed';
  statusCode: number | null;
  /** Null on success. */
  errorKind: ErrorKind | null;
  /** Short human message ("HTTP 500", "timed out after 10000 ms", "connect ECONNREFUSED …"); null on success. */
  error: string | null;
  /** The first `responseStoreBytes` of the response body as UTF-8 (invalid sequences replaced); null if none. */
  responseBody: string | null;
  /** Duration of the attempt in whole ms (monotonic clock). */
  durationMs: number;
  startedAt: Date;
  /** Parsed `Retry-After` (seconds or HTTP-date) of a 429 or 503, ms; otherwise null. */
  retryAfterMs: number | null;
  /** True for 410 Gone: the caller stops retrying and disables the endpoint. */
  permanent: boolean;
  /**
   * False when trying again cannot help and the delivery is dead at once, with the endpoint left
   * as it is (`blocked`, `insecure_url`): unlike `permanent`, the receiver said nothing.
   */
  retryable: boolean;
}

export interface DelivererOptions {
  /** Bound on the whole attempt (connect, headers and body read), ms. */
  timeoutMs: number;
  /** Most response body bytes read; then the body is destroyed (the connection is closed, not reused). */
  responseReadBytes: number;
  /** Most response body bytes kept in `responseBody`. */
  responseStoreBytes: number;
  /** The `User-Agent` header, e.g. `dialer-webhooks/0.1.0`. */
  userAgent: string;
  /**
   * Cap on connections per origin (undici pool size); null for none. Default null: endpoints that
   * share a host (one SaaS, several paths) must not share a cap, or one hung endpoint would take
   * every connection from the others. The dispatcher bounds requests per endpoint instead.
   */
  connectionsPerOrigin?: number | null;
  /** Wall clock in ms, for `webhook-timestamp`, `startedAt` and HTTP-date `Retry-After` (tests). Default `Date.now`. */
  now?: () => number;
  /** Which addresses may be connected to. Default: the guard with an empty allow-list. */
  guard?: EgressGuard;
  /** REQUIRE_HTTPS: refuse plain-http URLs at send time (`insecure_url`). Default true. */
  requireHttps?: boolean;
  /** DELIVERY_PROXY_URL: tunnel every request through this HTTP proxy. Default null (direct). */
  proxyUrl?: string | null;
  /** Called once per refused attempt (`blocked` or `insecure_url`), for metrics. */
  onRefused?: (kind: 'blocked' | 'insecure_url') => void;
}

export interface Deliverer {
  /** Makes one attempt. Never throws: every failure is a result. */
  deliver(req: AttemptRequest): Promise<AttemptResult>;
  /** Waits for attempts in flight, then closes all connections. Safe to call twice. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

// undici's own per-phase timeouts are backstops; our deadline timer is the bound on the whole
// attempt and must fire first, so the kind, message and duration of a timeout are always ours.
const UNDICI_TIMEOUT_MARGIN_MS = 1000;

/** Creates a deliverer with one keep-alive connection pool per origin, shared by all attempts. */
export function createDeliverer(options: DelivererOptions): Deliverer {
  const { timeoutMs, responseReadBytes, userAgent } = options;
  const storeBytes = Math.min(options.responseStoreBytes, responseReadBytes);
  const now = options.now ?? Date.now;
  const connections = options.connectionsPerOrigin ?? null;
  const guard = options.guard ?? createEgressGuard();
  const requireHttps = options.requireHttps ?? true;
  const onRefused = options.onRefused ?? (() => {});
  requireInteger('timeoutMs', timeoutMs, 1);
  requireInteger('responseReadBytes', responseReadBytes, 0);
  requireInteger('responseStoreBytes', options.responseStoreBytes, 0);
  if (connections !== null) requireInteger('connectionsPerOrigin', connections, 1);

  // TLS certificates are always verified (undici's default); no option here turns that off.
  const agent = createDeliveryDispatcher({
    guard,
    proxyUrl: options.proxyUrl ?? null,
    timeoutMs,
    backstopTimeoutMs: timeoutMs + UNDICI_TIMEOUT_MARGIN_MS,
    connections,
  });
  const timeoutMessage = `timed out after ${timeoutMs} ms`;

  const resolveTarget = targetCache(guard);
  const deadlines = new DeadlineList();

  let closed = false;
  let closing: Promise<void> | null = null;

  function refused(startedAt: Date, t0: number, kind: 'blocked' | 'insecure_url', error: string): AttemptResult {
    onRefused(kind);
    return { ...failure(startedAt, t0, kind, error), retryable: false };
  }

  async function deliver(req: AttemptRequest): Promise<AttemptResult> {
    const startedAtMs = now();
    const t0 = performance.now();
    const startedAt = new Date(startedAtMs);

    if (closed) return failure(startedAt, t0, 'aborted', 'deliverer is closed');
    if (req.signal?.aborted) return failure(startedAt, t0, 'aborted', 'aborted before sending');
    const target = resolveTarget(req.url);
    if (typeof target === 'string') return failure(startedAt, t0, 'network', target);
    if (requireHttps && !target.https) {
      return refused(startedAt, t0, 'insecure_url', 'not sent: the URL uses plain http and REQUIRE_HTTPS is on; change it to https');
    }
    if (target.refusal !== null) return refused(startedAt, t0, 'blocked', target.refusal);
    const secret = req.secrets[0];
    if (secret === undefined) return failure(startedAt, t0, 'network', 'no signing secret');

    const timestamp = Math.floor(startedAtMs / 1000);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': userAgent,
      'x-webhook-signature': signatureHeader(req.body, secret),
      'x-webhook-event': req.eventType,
      'x-webhook-attempt': String(req.attempt),
      'webhook-id': req.deliveryId,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': standardSignatureHeader(req.deliveryId, timestamp, req.body, req.secrets),
    };
    if (req.traceparent) {
      headers.traceparent = req.traceparent;
      if (req.tracestate) headers.tracestate = req.tracestate;
    }
    if (req.headers !== undefined) addEndpointHeaders(headers, req.headers);

    // The handler holds the attempt's whole state, so the deadline and the shutdown watch need no
    // closure or timer of their own. Not AbortSignal.timeout + AbortSignal.any: nothing outlives
    // the attempt, no listener piles up on the long-lived shutdown signal, and the deadline is
    // never early.
    const h = new AttemptHandler(responseReadBytes, storeBytes, t0 + timeoutMs);
    deadlines.add(h);
    const signal = req.signal;
    if (signal) watchAbort(signal, h);
    agent.dispatch({ origin: target.origin, path: target.path, method: 'POST', headers, body: req.body }, h);
    await h.done;
    deadlines.remove(h);
    if (signal) unwatchAbort(signal, h);

    const statusCode = h.statusCode;
    if (statusCode === 0) {
      if (h.cancelledBy === 'timeout') return failure(startedAt, t0, 'timeout', timeoutMessage);
      if (h.cancelledBy === 'aborted') return failure(startedAt, t0, 'aborted', 'aborted by shutdown');
      if (closed) return failure(startedAt, t0, 'aborted', 'deliverer is closed');
      const err = h.error;
      const code = errorCode(err);
      const blocked = findBlocked(err);
      if (blocked !== null) return refused(startedAt, t0, 'blocked', blocked.message);
      if (code !== undefined && TIMEOUT_CODES.has(code)) return failure(startedAt, t0, 'timeout', `${timeoutMessage} (${code})`);
      return failure(startedAt, t0, 'network', describeError(err, code));
    }

    // The status decides the outcome once headers are in: a receiver that answered 2xx has the
    // event, even if reading its body is then cut short by the deadline or a shutdown.
    const responseBody = h.responseBody();
    const durationMs = elapsed(t0);
    if (statusCode >= 200 && statusCode < 300) {
      return result('succeeded', statusCode, null, null, responseBody, durationMs, startedAt, null, false);
    }
    if (statusCode >= 300 && statusCode < 400) {
      const location = redirectTarget(rawHeaderValue(h.rawHeaders, 'location'), target.origin);
      const error =
        location === null ? `HTTP ${statusCode} redirect not followed` : `HTTP ${statusCode} redirect to ${location} not followed`;
      return result('failed', statusCode, 'redirect', error, responseBody, durationMs, startedAt, null, false);
    }
    const retryAfterMs =
      statusCode === 429 || statusCode === 503 ? parseRetryAfter(rawHeaderValue(h.rawHeaders, 'retry-after'), now()) : null;
    return result(
      'failed',
      statusCode,
      'http_status',
      `HTTP ${statusCode}`,
      responseBody,
      durationMs,
      startedAt,
      retryAfterMs,
      statusCode === 410,
    );
  }

  function close(): Promise<void> {
    closed = true;
    closing ??= agent.close();
    return closing;
  }

  return { deliver, close, [Symbol.asyncDispose]: close };
}

function result(
  outcome: AttemptResult['outcome'],
  statusCode: number | null,
  errorKind: ErrorKind | null,
  error: string | null,
  responseBody: string | null,
  durationMs: number,
  startedAt: Date,
  retryAfterMs: number | null,
  permanent: boolean,
): AttemptResult {
  return { outcome, statusCode, errorKind, error, responseBody, durationMs, startedAt, retryAfterMs, permanent, retryable: true };
}

function failure(startedAt: Date, t0: number, kind: ErrorKind, error: string): AttemptResult {
  return result('failed', null, kind, error, null, elapsed(t0), startedAt, null, false);
}

/** Whole ms since `t0` (attempts.duration_ms is an integer column). */
function elapsed(t0: number): number {
  return Math.round(performance.now() - t0);
}

function requireInteger(name: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) throw new TypeError(`createDeliverer: ${name} must be an integer >= ${min}`);
}
