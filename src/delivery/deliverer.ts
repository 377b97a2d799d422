/**
 * One webhook attempt: sign the body, POST it with undici, read a bounded slice of the response and
 * classify the outcome. `deliver()` never throws: every failure comes back as data, which is also
 * the attempt row of the delivery log. This is the throughput-critical path: one shared Agent, no
 * JSON work, nothing per request that could be computed once.
 */
import { Agent } from 'undici';
import type { Dispatcher } from 'undici';
import { StringDecoder } from 'node:string_decoder';
import { signatureHeader, standardSignatureHeader } from './signing.ts';

/**
 * Why an attempt failed: the receiver answered with a non-2xx status (`http_status`) or a 3xx
 * (`redirect`, never followed); the attempt ran out of time (`timeout`); the connection failed
 * (`network`); or we aborted it for shutdown (`aborted`). `stalled` is the dispatcher's own: the
 * request was not sent because the endpoint had stopped answering the requests already in flight.
 */
export type ErrorKind = 'http_status' | 'redirect' | 'timeout' | 'network' | 'aborted' | 'stalled';

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
}

export interface Deliverer {
  /** Makes one attempt. Never throws: every failure is a result. */
  deliver(req: AttemptRequest): Promise<AttemptResult>;
  /** Waits for attempts in flight, then closes all connections. Safe to call twice. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);
const MAX_ERROR_CHARS = 300;
const MAX_LOCATION_CHARS = 500;
const TARGET_CACHE_MAX = 4096;
// undici's own per-phase timeouts are backstops; our deadline timer is the bound on the whole
// attempt and must fire first, so the kind, message and duration of a timeout are always ours.
const UNDICI_TIMEOUT_MARGIN_MS = 1000;

// One 'abort' listener per shutdown signal, however many attempts are in flight: EventTarget's
// addEventListener/removeEventListener walk the signal's listener list, so a listener per attempt
// on the one shared signal makes every attempt O(attempts in flight).
const abortWatchers = new WeakMap<AbortSignal, Set<() => void>>();
function watchAbort(signal: AbortSignal, fn: () => void): () => void {
  let set = abortWatchers.get(signal);
  if (set === undefined) {
    const fns = new Set<() => void>();
    abortWatchers.set(signal, fns);
    signal.addEventListener(
      'abort',
      () => {
        for (const f of fns) f();
        fns.clear();
      },
      { once: true },
    );
    set = fns;
  }
  const watchers = set;
  watchers.add(fn);
  return () => void watchers.delete(fn);
}

interface Target {
  origin: string;
  path: string;
}

/** Creates a deliverer with one keep-alive connection pool per origin, shared by all attempts. */
export function createDeliverer(options: DelivererOptions): Deliverer {
  const { timeoutMs, responseReadBytes, userAgent } = options;
  const storeBytes = Math.min(options.responseStoreBytes, responseReadBytes);
  const now = options.now ?? Date.now;
  const connections = options.connectionsPerOrigin ?? null;
  requireInteger('timeoutMs', timeoutMs, 1);
  requireInteger('responseReadBytes', responseReadBytes, 0);
  requireInteger('responseStoreBytes', options.responseStoreBytes, 0);
  if (connections !== null) requireInteger('connectionsPerOrigin', connections, 1);

  const agent = new Agent({
    connections,
    pipelining: 1,
    connect: { timeout: timeoutMs },
    headersTimeout: timeoutMs + UNDICI_TIMEOUT_MARGIN_MS,
    bodyTimeout: timeoutMs + UNDICI_TIMEOUT_MARGIN_MS,
  });
  const timeoutMessage = `timed out after ${timeoutMs} ms`;

  // Endpoints are few and their URLs are sent to over and over: parse each once.
  const targets = new Map<string, Target | string>();
  function resolveTarget(url: string): Target | string {
    let target = targets.get(url);
    if (target === undefined) {
      target = parseTarget(url);
      if (targets.size >= TARGET_CACHE_MAX) {
        const oldest = targets.keys().next();
        if (!oldest.done) targets.delete(oldest.value);
      }
      targets.set(url, target);
    }
    return target;
  }

  let closed = false;
  let closing: Promise<void> | null = null;

  async function deliver(req: AttemptRequest): Promise<AttemptResult> {
    const startedAtMs = now();
    const t0 = performance.now();
    const startedAt = new Date(startedAtMs);

    if (closed) return failure(startedAt, t0, 'aborted', 'deliverer is closed');
    if (req.signal?.aborted) return failure(startedAt, t0, 'aborted', 'aborted before sending');
    const target = resolveTarget(req.url);
    if (typeof target === 'string') return failure(startedAt, t0, 'network', target);
    const secret = req.secrets[0];
    if (secret === undefined) return failure(startedAt, t0, 'network', 'no signing secret');

    const timestamp = Math.floor(startedAtMs / 1000);
    const headers = {
      'content-type': 'application/json',
      'user-agent': userAgent,
      'x-webhook-signature': signatureHeader(req.body, secret),
      'x-webhook-event': req.eventType,
      'x-webhook-attempt': String(req.attempt),
      'webhook-id': req.deliveryId,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': standardSignatureHeader(req.deliveryId, timestamp, req.body, req.secrets),
    };

    // One controller aborts the request and its body, for either of two reasons; `abortedBy`
    // records which fired first. A plain timer (cleared when done) instead of
    // AbortSignal.timeout + AbortSignal.any: nothing outlives the attempt, no listener piles up on
    // the long-lived shutdown signal, and the deadline is never early.
    const controller = new AbortController();
    let abortedBy: 'timeout' | 'aborted' | null = null;
    const deadline = t0 + timeoutMs;
    const onDeadline = (): void => {
      // Timers run against the event loop's cached clock and may fire a little early.
      const left = deadline - performance.now();
      if (left > 0) {
        timer = setTimeout(onDeadline, Math.ceil(left));
        return;
      }
      abortedBy ??= 'timeout';
      controller.abort();
    };
    let timer = setTimeout(onDeadline, timeoutMs);
    const onShutdown = (): void => {
      abortedBy ??= 'aborted';
      controller.abort();
    };
    const unwatch = req.signal ? watchAbort(req.signal, onShutdown) : null;

    try {
      let res: Dispatcher.ResponseData;
      try {
        res = await agent.request({
          origin: target.origin,
          path: target.path,
          method: 'POST',
          headers,
          body: req.body,
          signal: controller.signal,
        });
      } catch (err) {
        if (abortedBy === 'timeout') return failure(startedAt, t0, 'timeout', timeoutMessage);
        if (abortedBy === 'aborted') return failure(startedAt, t0, 'aborted', 'aborted by shutdown');
        if (closed) return failure(startedAt, t0, 'aborted', 'deliverer is closed');
        const code = errorCode(err);
        if (code !== undefined && TIMEOUT_CODES.has(code)) return failure(startedAt, t0, 'timeout', `${timeoutMessage} (${code})`);
        return failure(startedAt, t0, 'network', describeError(err, code));
      }

      // The status decides the outcome once headers are in: a receiver that answered 2xx has the
      // event, even if reading its body is then cut short by the deadline or a shutdown.
      const statusCode = res.statusCode;
      const responseBody = await readBody(res.body, responseReadBytes, storeBytes);
      const durationMs = elapsed(t0);
      if (statusCode >= 200 && statusCode < 300) {
        return result('succeeded', statusCode, null, null, responseBody, durationMs, startedAt, null, false);
      }
      if (statusCode >= 300 && statusCode < 400) {
        const location = headerValue(res.headers['location']);
        const error =
          location === undefined
            ? `HTTP ${statusCode} redirect not followed`
            : `redirect to ${truncate(location, MAX_LOCATION_CHARS)} not followed`;
        return result('failed', statusCode, 'redirect', error, responseBody, durationMs, startedAt, null, false);
      }
      const retryAfterMs =
        statusCode === 429 || statusCode === 503 ? parseRetryAfter(headerValue(res.headers['retry-after']), now()) : null;
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
    } finally {
      clearTimeout(timer);
      unwatch?.();
    }
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
  return { outcome, statusCode, errorKind, error, responseBody, durationMs, startedAt, retryAfterMs, permanent };
}

function failure(startedAt: Date, t0: number, kind: ErrorKind, error: string): AttemptResult {
  return result('failed', null, kind, error, null, elapsed(t0), startedAt, null, false);
}

/** Whole ms since `t0` (attempts.duration_ms is an integer column). */
function elapsed(t0: number): number {
  return Math.round(performance.now() - t0);
}

function parseTarget(url: string): Target | string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // The URL itself stays out of the message: it may carry a token.
    return 'invalid URL';
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return `unsupported URL scheme ${parsed.protocol}`;
  return { origin: parsed.origin, path: parsed.pathname + parsed.search };
}

/**
 * Reads at most `readLimit` bytes and keeps the first `storeLimit` of them. A body that ends within
 * the limit is consumed, so its connection goes back to the pool; a longer one is destroyed (the
 * connection is closed), so an endless body cannot hold the attempt. A read error (deadline,
 * shutdown, reset) ends the read with what was kept so far.
 */
async function readBody(body: Dispatcher.ResponseData['body'], readLimit: number, storeLimit: number): Promise<string | null> {
  const kept: Buffer[] = [];
  let keptBytes = 0;
  let readBytes = 0;
  try {
    if (readLimit === 0) {
      body.destroy();
    } else {
      for await (const chunk of body as AsyncIterable<Buffer>) {
        readBytes += chunk.length;
        if (keptBytes < storeLimit) {
          const part = chunk.length <= storeLimit - keptBytes ? chunk : chunk.subarray(0, storeLimit - keptBytes);
          kept.push(part);
          keptBytes += part.length;
        }
        if (readBytes >= readLimit) break; // leaving the loop destroys the body
      }
    }
  } catch {
    // Keep what was read; the stream is already destroyed.
  }
  if (keptBytes === 0) return null;
  // StringDecoder.write holds back a multi-byte sequence cut by the limit instead of emitting a
  // replacement character for it; other invalid sequences become U+FFFD.
  let text = new StringDecoder('utf8').write(kept.length === 1 ? kept[0]! : Buffer.concat(kept, keptBytes));
  // Postgres text cannot hold NUL; the result is also the attempt row.
  if (text.includes('\0')) text = text.replaceAll('\0', '\uFFFD');
  return text === '' ? null : text;
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** `Retry-After` as ms from now: delay-seconds or an HTTP-date (a past date gives 0); null if absent or malformed. */
function parseRetryAfter(value: string | undefined, nowMs: number): number | null {
  if (value === undefined) return null;
  const text = value.trim();
  if (text === '') return null;
  if (/^\d+$/.test(text)) return Math.min(Number(text) * 1000, Number.MAX_SAFE_INTEGER);
  const at = Date.parse(text);
  return Number.isNaN(at) ? null : Math.max(0, at - nowMs);
}

function errorCode(err: unknown): string | undefined {
  // The error's own code, else its cause's (a few levels, in case of a cycle).
  let current = err;
  for (let depth = 0; depth < 4 && typeof current === 'object' && current !== null; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

function describeError(err: unknown, code: string | undefined): string {
  let message = err instanceof Error ? err.message : String(err);
  // Happy-eyeballs connects fail with an AggregateError whose own message is empty.
  if (message === '' && err instanceof AggregateError) {
    const first: unknown = err.errors[0];
    if (first instanceof Error) message = first.message;
  }
  if (code !== undefined && !message.includes(code)) message = message === '' ? code : `${message} (${code})`;
  if (message === '') message = 'network error';
  return truncate(message, MAX_ERROR_CHARS);
}

function requireInteger(name: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) throw new TypeError(`createDeliverer: ${name} must be an integer >= ${min}`);
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
