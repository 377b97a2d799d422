/**
 * Turning what undici threw into an attempt's error kind and message: classified by error code,
 * never by message text; messages are bounded.
 */
import { EgressBlockedError } from './egress-connector.ts';

export const TIMEOUT_CODES: ReadonlySet<string> = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);
const MAX_ERROR_CHARS = 300;

/** The guard's refusal in an undici error: itself, a cause, or one of a happy-eyeballs AggregateError's. */
export function findBlocked(err: unknown): EgressBlockedError | null {
  let current = err;
  for (let depth = 0; depth < 4 && typeof current === 'object' && current !== null; depth++) {
    if (current instanceof EgressBlockedError) return current;
    if (current instanceof AggregateError) return current.errors.find((e) => e instanceof EgressBlockedError) ?? null;
    current = (current as { cause?: unknown }).cause;
  }
  return null;
}

/** The error's own code, else its cause's (a few levels, in case of a cycle). */
export function errorCode(err: unknown): string | undefined {
  let current = err;
  for (let depth = 0; depth < 4 && typeof current === 'object' && current !== null; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

export function describeError(err: unknown, code: string | undefined): string {
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

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
