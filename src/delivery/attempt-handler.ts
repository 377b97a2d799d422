/**
 * One attempt's undici dispatch handler: the request goes straight to the connection pool and the
 * response is read here, chunk by chunk, without the Readable stream, async iterator, promise and
 * async resource that `request()` builds around it. On the hot path (a 2xx with a short body) an
 * attempt costs this object, its promise and one timer.
 *
 * Bounds, as the deliverer promises them: at most `readLimit` body bytes are read (then the
 * connection is destroyed, not reused), the first `storeLimit` are kept; `cancel()` (deadline or
 * shutdown) settles the attempt at once and aborts the request, even one still waiting for a
 * socket, so no attempt outlives its deadline.
 *
 * The handler uses undici's callback interface (onConnect … onComplete), the one its own
 * `request()` implements: the newer controller interface is wrapped into it per request.
 */
import type { Dispatcher } from 'undici';
import type { DeadlineEntry } from './deadline-list.ts';
import { keptText } from './response-reader.ts';

/** Why an attempt was cut short by us, not by the network. */
export type CancelReason = 'timeout' | 'aborted';

export class AttemptHandler implements Dispatcher.DispatchHandler, DeadlineEntry {
  /** Settles when the outcome is known: a response (status > 0), an error, or a cancel. */
  readonly done: Promise<void>;
  /** The final status; 0 while no response headers arrived. */
  statusCode = 0;
  /** Response headers as undici hands them (name, value, …), kept only when the outcome may need one (non-2xx). */
  rawHeaders: Buffer[] | null = null;
  /** The error that ended the request before any response; null otherwise. */
  error: unknown = null;
  /** Set when we ended the attempt (deadline or shutdown) before it finished on its own. */
  cancelledBy: CancelReason | null = null;
  readonly deadline: number;
  prevDeadline: DeadlineEntry | null = null;
  nextDeadline: DeadlineEntry | null = null;

  readonly #readLimit: number;
  readonly #storeLimit: number;
  #kept: Buffer[] | null = null;
  #keptBytes = 0;
  #readBytes = 0;
  #abort: ((err?: Error) => void) | null = null;
  #settled = false;
  #resolve!: () => void;

  constructor(readLimit: number, storeLimit: number, deadline: number) {
    this.#readLimit = readLimit;
    this.#storeLimit = storeLimit;
    this.deadline = deadline;
    this.done = new Promise<void>((resolve) => (this.#resolve = resolve));
  }

  /** The kept start of the response body as text (see keptText); null if none. */
  responseBody(): string | null {
    const kept = this.#kept;
    if (kept === null) return null;
    return keptText(kept.length === 1 ? kept[0]! : Buffer.concat(kept, this.#keptBytes));
  }

  /** Ends the attempt now (its result is whatever is known) and aborts the request. First reason wins. */
  cancel(reason: CancelReason): void {
    if (this.#settled) return;
    this.cancelledBy = reason;
    this.#finish(true);
  }

  /** The deadline passed (DeadlineList). */
  expire(): void {
    this.cancel('timeout');
  }

  onConnect(abort: (err?: Error) => void): void {
    // A request cancelled while it waited for a socket is aborted as soon as it gets one.
    if (this.#settled) abort(cancelled());
    else this.#abort = abort;
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[]): boolean {
    // 1xx informational responses come before the final one.
    if (statusCode < 200 || this.#settled) return true;
    this.statusCode = statusCode;
    if (statusCode >= 300) this.rawHeaders = rawHeaders;
    if (this.#readLimit === 0) this.#finish(true);
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.#settled) return true;
    this.#readBytes += chunk.length;
    const room = this.#storeLimit - this.#keptBytes;
    if (room > 0) {
      const part = chunk.length <= room ? chunk : chunk.subarray(0, room);
      (this.#kept ??= []).push(part);
      this.#keptBytes += part.length;
    }
    // Enough read: the rest is not wanted and an endless body must not hold the attempt.
    if (this.#readBytes >= this.#readLimit) this.#finish(true);
    return true;
  }

  onComplete(): void {
    this.#finish(false);
  }

  onError(err: Error): void {
    if (this.#settled) return;
    // After the headers, an error only cuts the body short: the status decides the outcome.
    if (this.statusCode === 0) this.error = err;
    this.#finish(false);
  }

  #finish(abort: boolean): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#resolve();
    // Settled first: undici calls onError from inside abort(), which must then be a no-op.
    if (abort) this.#abort?.(cancelled());
  }
}

/** Handed to undici's abort(): the request is destroyed, its socket with it (never reused). */
function cancelled(): Error {
  return new Error('attempt cancelled');
}
