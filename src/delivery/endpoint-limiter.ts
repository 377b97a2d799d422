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
 * - Slow start: an endpoint's window (the requests it may have in flight) starts at
 *   `initialWindow` and grows by one per answered request, so it doubles every round trip up to
 *   `concurrency`; it starts over when the circuit opens. An endpoint that has not answered yet
 *   (new, back from idle for `forgetIdleMs`, or just stalled) can therefore hold only a few requests,
 *   and with them a few Kafka messages, for the whole DELIVERY_TIMEOUT_MS: a hung endpoint used to
 *   take all 64 slots, whose messages then held a third of each partition's in-flight window for
 *   10 s. A healthy one reaches 64 in about five round trips. The window of an endpoint that goes
 *   idle is remembered for `forgetIdleMs`, so steady traffic in bursts does not restart slowly.
 *
 * Timeouts of a hung endpoint come back staggered, so "a slot freed recently" would never see it
 * as stalled; what counts is whether anything was answered.
 *
 * The verdict is given only by a check timer that fired on time. One that fired late means this
 * process's event loop was busy (a burst of messages, a loaded machine): answers may be sitting
 * unread in the poll queue, and the quiet time is our own lag, not the endpoint's silence. Opening
 * then failed a healthy endpoint's deliveries unsent as `stalled` whenever a burst of work kept
 * the loop busy for `stallMs`.
 *
 * One check timer per endpoint with waiters, not one per waiter: every waiter of an endpoint
 * would give the same verdict at the same time (it depends on the endpoint's last answer only),
 * and at 1 endpoint about 700 callers wait at once, each of which used to set and clear a timer.
 */
interface EndpointState {
  active: number;
  /** Requests it may have in flight now (slow start), initialWindow … concurrency. */
  window: number;
  /** Its own bound, `max_in_flight`, or the service's concurrency: the window never lets more through. */
  cap: number;
  lastAnswer: number;
  open: boolean;
  /** Callers waiting for a slot, in order; each gets its release, or null when the circuit opens. */
  waiters: Array<(granted: Release | null) => void>;
  /** The endpoint's check timer, armed while it has waiters. */
  timer: NodeJS.Timeout | undefined;
  /** When the check timer is due (this.#now() time), to tell a late one. */
  dueAt: number;
}

/** Idle endpoints are swept from memory every this many new entries. */
const SWEEP_EVERY = 256;

/** Releases a slot; `answered` is false when the request timed out or was aborted. */
export type Release = (answered?: boolean) => void;

export class EndpointLimiter {
  readonly #limit: number;
  readonly #stallMs: number;
  readonly #probes: number;
  readonly #initialWindow: number;
  readonly #forgetIdleMs: number;
  #created = 0;
  /** How late a check timer may fire and still be trusted: a tenth of stallMs, at least 10 ms. */
  readonly #lagToleranceMs: number;
  readonly #now: () => number;
  readonly #endpoints = new Map<string, EndpointState>();

  constructor(options: {
    concurrency: number;
    stallMs: number;
    probes?: number;
    /** The window of an endpoint that has not answered yet. Default 8 (at most `concurrency`). */
    initialWindow?: number;
    /** How long an idle endpoint's window is remembered, ms. Default 60000. */
    forgetIdleMs?: number;
    now?: () => number;
  }) {
    this.#limit = options.concurrency;
    this.#stallMs = options.stallMs;
    this.#probes = Math.min(options.probes ?? 2, options.concurrency);
    this.#initialWindow = Math.max(this.#probes, Math.min(options.initialWindow ?? 8, options.concurrency));
    this.#forgetIdleMs = options.forgetIdleMs ?? 60_000;
    this.#lagToleranceMs = Math.max(10, Math.floor(options.stallMs / 10));
    this.#now = options.now ?? Date.now;
  }

  /**
   * A release function, or null when the endpoint has stalled (the caller fails the attempt
   * unsent). `limit` is the endpoint's own `max_in_flight`, when it has one. A free slot is
   * granted synchronously (no promise per request); only a caller that must wait gets a promise.
   */
  acquire(endpointId: string, limit?: number | null): Release | null | Promise<Release | null> {
    let e = this.#endpoints.get(endpointId);
    if (!e) {
      if (++this.#created % SWEEP_EVERY === 0) this.#sweep();
      e = {
        active: 0,
        window: this.#initialWindow,
        cap: this.#limit,
        lastAnswer: this.#now(),
        open: false,
        waiters: [],
        timer: undefined,
        dueAt: 0,
      };
      this.#endpoints.set(endpointId, e);
    }
    e.cap = limit ?? this.#limit;
    if (e.open) {
      if (e.active >= Math.min(this.#probes, e.cap)) return null;
      e.active++;
      return this.#releaser(endpointId, e);
    }
    if (e.active < Math.min(e.window, e.cap)) {
      if (e.active === 0) e.lastAnswer = this.#now();
      e.active++;
      return this.#releaser(endpointId, e);
    }
    return this.#wait(e);
  }

  #wait(e: EndpointState): Promise<Release | null> {
    return new Promise((resolve) => {
      e.waiters.push(resolve);
      if (e.timer === undefined) this.#arm(e, Math.max(0, this.#stallMs - (this.#now() - e.lastAnswer)));
    });
  }

  #arm(e: EndpointState, ms: number): void {
    e.dueAt = this.#now() + ms;
    e.timer = setTimeout(() => this.#check(e), ms);
  }

  /**
   * Opens the circuit only when the endpoint itself stalled (nothing answered for stallMs), not
   * when its waiters merely waited that long behind others on an endpoint that keeps answering,
   * nor when this process was too busy to read the answers (a late timer: look again soon).
   */
  #check(e: EndpointState): void {
    e.timer = undefined;
    if (e.waiters.length === 0) return;
    const now = this.#now();
    const quietMs = now - e.lastAnswer;
    if (!e.open) {
      if (quietMs < this.#stallMs) return this.#arm(e, this.#stallMs - quietMs);
      if (now - e.dueAt > this.#lagToleranceMs) return this.#arm(e, this.#lagToleranceMs);
    }
    this.#open(e);
  }

  #open(e: EndpointState): void {
    e.open = true;
    e.window = this.#initialWindow;
    for (const w of e.waiters.splice(0)) w(null);
  }

  /** Forgets idle endpoints (nothing in flight, circuit closed) that answered nothing for forgetIdleMs. */
  #sweep(): void {
    const before = this.#now() - this.#forgetIdleMs;
    for (const [id, e] of this.#endpoints) if (e.active === 0 && !e.open && e.lastAnswer < before) this.#endpoints.delete(id);
  }

  #releaser(endpointId: string, e: EndpointState): Release {
    let released = false;
    return (answered = true) => {
      if (released) return;
      released = true;
      if (answered) {
        e.lastAnswer = this.#now();
        e.open = false;
        if (e.window < this.#limit) e.window++;
      }
      e.active--;
      // The freed slot, and one more while the window grows, pass straight to waiters in order.
      while (!e.open && e.active < Math.min(e.window, e.cap) && e.waiters.length > 0) {
        e.active++;
        e.waiters.shift()!(this.#releaser(endpointId, e));
      }
      if (e.waiters.length === 0 && e.timer !== undefined) {
        clearTimeout(e.timer);
        e.timer = undefined;
      }
      // An open circuit (and a grown window) is remembered while idle, so a drained hung endpoint
      // is not refilled, and a healthy one does not start slowly again.
      if (e.active === 0 && !e.open && e.window === this.#initialWindow) this.#endpoints.delete(endpointId);
    };
  }

  /** Requests in flight to an endpoint. */
  active(endpointId: string): number {
    return this.#endpoints.get(endpointId)?.active ?? 0;
  }

  /** Requests an endpoint may have in flight now (its slow-start window). */
  window(endpointId: string): number {
    return this.#endpoints.get(endpointId)?.window ?? this.#initialWindow;
  }

  /** True while the endpoint's circuit is open (stalled). */
  isOpen(endpointId: string): boolean {
    return this.#endpoints.get(endpointId)?.open ?? false;
  }
}
