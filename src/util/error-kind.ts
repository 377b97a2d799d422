import { isDataError, sqlState } from '../db/pg-errors.ts';
import { HandlerFailedError, InvalidEventError, TransientError } from '../errors.ts';

/**
 * How an error met while handling a message is treated:
 * - `transient`: a dependency is down or slow; retried with backoff for as long as it lasts;
 * - `permanent`: retrying cannot help; the message is quarantined (or the delivery dead-lettered);
 * - `unknown`: nobody classified it; retried a bounded number of times, then quarantined.
 */
export type ErrorKind = 'transient' | 'permanent' | 'unknown';

// Socket and resolver errors (Node errno codes) and undici's network codes.
const TRANSIENT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
]);

// SQLSTATE classes and codes that say "try again later": connection exceptions (08), transaction
// rollbacks such as serialization failures and deadlocks (40), insufficient resources (53),
// operator intervention such as admin shutdown or a statement timeout (57), system errors (58),
// lock not available (55P03).
const TRANSIENT_SQLSTATE = /^(08|40|53|57|58)...$|^55P03$/;

/** Classifies by class and code, never by message text. */
export function errorKind(err: unknown): ErrorKind {
  if (err instanceof InvalidEventError || err instanceof HandlerFailedError) return 'permanent';
  if (err instanceof TransientError) return 'transient';
  const state = sqlState(err);
  if (state !== undefined) {
    if (isDataError(err)) return 'permanent';
    if (TRANSIENT_SQLSTATE.test(state)) return 'transient';
  }
  const e = err as { code?: unknown; retriable?: unknown; name?: unknown } | null;
  if (typeof e?.code === 'string' && TRANSIENT_CODES.has(e.code)) return 'transient';
  // kafkajs marks what its own retries would have retried.
  if (typeof e?.name === 'string' && e.name.startsWith('KafkaJS') && e.retriable === true) return 'transient';
  return 'unknown';
}

/**
 * The kind of an error thrown by a call to a dependency (Postgres, the broker, the registry): as
 * `errorKind`, except that a plain `Error` without a code is transient. pg reports a lost or
 * timed-out connection that way ("Connection terminated", "timeout exceeded when trying to
 * connect"), while bugs surface as TypeError, RangeError and the like, which stay unknown.
 */
export function dependencyErrorKind(err: unknown): ErrorKind {
  const kind = errorKind(err);
  if (kind !== 'unknown') return kind;
  if (err instanceof Error && err.constructor === Error && (err as { code?: unknown }).code === undefined) return 'transient';
  return 'unknown';
}
