/**
 * Bounds the requests in flight to each endpoint, so one endpoint cannot take every connection and
 * every slot of a partition, and breaks the circuit to an endpoint that has stopped answering.
 *
 * - A caller that cannot get a slot waits while the endpoint keeps answering.
 * - The endpoint has stalled when its slots are full and none of its requests has been answered
 *   (any HTTP status or a fast connection error; a timeout is no answer) for `stallMs`. Then the
 *   circuit is open: `acquire` answers `null` at once and the caller fails the attempt unsent,
 *   instead of holding its Kafka message hostage to the slow receiver. Only `probes` requests
 *   may be in flight while it is open; the first answer closes it again.
 *
 * Timeouts of a hung endpoint come back staggered, so "a slot freed recently" would never see it
 * as stalled; what counts is whether anything was answered.
 *
 * The verdict is given only by a check timer that fired on time. One that fired late means this
 * process's event loop was busy (a burst of messages, a loaded machine): answers may be sitting
 * unread in the poll queue, and the quiet time is our own lag, not the endpoint's silence. Opening
 * then failed a healthy endpoint's deliveries unsent as `stalled` whenever a burst of work kept
 * the loop busy for `stallMs`.
 */
interface EndpointState {
  active: number;
  lastAnswer: number;
  open: boolean;
  waiters: Array<(granted: boolean) => void>;
}

/** Releases a slot; `answered` is false when the request timed out or was aborted. */
export type Release = (answered?: boolean) => void;

export class EndpointLimiter {
  readonly #limit: number;
  readonly #stallMs: number;
  readonly #probes: number;
  /** How late a check timer may fire and still be trusted: a tenth of stallMs, at least 10 ms. */
  readonly #lagToleranceMs: number;
  readonly #now: () => number;
  readonly #endpoints = new Map<string, EndpointState>();

  constructor(options: { concurrency: number; stallMs: number; probes?: number; now?: () => number }) {
    this.#limit = options.concurrency;
    this.#stallMs = options.stallMs;
    this.#probes = Math.min(options.probes ?? 2, options.concurrency);
    this.#lagToleranceMs = Math.max(10, Math.floor(options.stallMs / 10));
    this.#now = options.now ?? Date.now;
  }

  /** A release function, or null when the endpoint has stalled (the caller fails the attempt unsent). */
  async acquire(endpointId: string): Promise<Release | null> {
    let e = this.#endpoints.get(endpointId);
    if (!e) {
      e = { active: 0, lastAnswer: this.#now(), open: false, waiters: [] };
      this.#endpoints.set(endpointId, e);
    }
    if (e.open) {
      if (e.active >= this.#probes) return null;
      e.active++;
      return this.#releaser(endpointId, e);
    }
    if (e.active < this.#limit) {
      if (e.active === 0) e.lastAnswer = this.#now();
      e.active++;
      return this.#releaser(endpointId, e);
    }
    const entry = e;
    const granted = await new Promise<boolean>((resolve) => {
      let dueAt = 0;
      const arm = (ms: number): void => {
        dueAt = this.#now() + ms;
        timer = setTimeout(check, ms);
      };
      // Give up only when the endpoint itself stalls (nothing answered for stallMs), not when
      // this caller merely waited that long behind others on an endpoint that keeps answering,
      // nor when this process was too busy to read the answers (a late timer: look again soon).
      const check = (): void => {
        const now = this.#now();
        const quietMs = now - entry.lastAnswer;
        if (!entry.open) {
          if (quietMs < this.#stallMs) return arm(this.#stallMs - quietMs);
          if (now - dueAt > this.#lagToleranceMs) return arm(this.#lagToleranceMs);
        }
        const i = entry.waiters.indexOf(wake);
        if (i >= 0) entry.waiters.splice(i, 1);
        this.#open(entry);
        resolve(false);
      };
      let timer: NodeJS.Timeout | undefined;
      arm(Math.max(0, this.#stallMs - (this.#now() - entry.lastAnswer)));
      const wake = (ok: boolean): void => {
        clearTimeout(timer);
        resolve(ok);
      };
      entry.waiters.push(wake);
    });
    return granted ? this.#releaser(endpointId, entry) : null;
  }

  #open(e: EndpointState): void {
    e.open = true;
    for (const w of e.waiters.splice(0)) w(false);
  }

  #releaser(endpointId: string, e: EndpointState): Release {
    let released = false;
    return (answered = true) => {
      if (released) return;
      released = true;
      if (answered) {
        e.lastAnswer = this.#now();
        e.open = false;
      }
      const next = e.open ? undefined : e.waiters.shift();
      if (next) {
        next(true); // the slot passes straight to the next waiter
        return;
      }
      // An open circuit is remembered while idle, so a drained hung endpoint is not refilled.
      if (--e.active === 0 && !e.open) this.#endpoints.delete(endpointId);
    };
  }

  /** Requests in flight to an endpoint. */
  active(endpointId: string): number {
    return this.#endpoints.get(endpointId)?.active ?? 0;
  }

  /** True while the endpoint's circuit is open (stalled). */
  isOpen(endpointId: string): boolean {
    return this.#endpoints.get(endpointId)?.open ?? false;
  }
}
