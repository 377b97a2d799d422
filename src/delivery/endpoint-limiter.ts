/**
 * Bounds the requests in flight to each endpoint, so one endpoint cannot take every connection and
 * every slot of a partition. A caller that cannot get a slot waits while the endpoint keeps
 * answering; once the endpoint has stalled (its slots are full and none has freed for `stallMs`),
 * `acquire` answers `null` and the caller fails the attempt unsent instead of holding its Kafka
 * message hostage to one slow receiver.
 */
export class EndpointLimiter {
  readonly #limit: number;
  readonly #stallMs: number;
  readonly #now: () => number;
  readonly #endpoints = new Map<string, { active: number; lastRelease: number; waiters: Array<(ok: boolean) => void> }>();

  constructor(options: { concurrency: number; stallMs: number; now?: () => number }) {
    this.#limit = options.concurrency;
    this.#stallMs = options.stallMs;
    this.#now = options.now ?? Date.now;
  }

  /** A release function, or null when the endpoint has stalled (the caller fails the attempt unsent). */
  async acquire(endpointId: string): Promise<(() => void) | null> {
    let e = this.#endpoints.get(endpointId);
    if (!e) {
      e = { active: 0, lastRelease: this.#now(), waiters: [] };
      this.#endpoints.set(endpointId, e);
    }
    if (e.active < this.#limit) {
      if (e.active === 0) e.lastRelease = this.#now();
      e.active++;
      return this.#releaser(endpointId, e);
    }
    if (this.#now() - e.lastRelease >= this.#stallMs) return null;
    const entry = e;
    const ok = await new Promise<boolean>((resolve) => {
      // Give up only when the endpoint itself stalls (no slot freed for stallMs), not when this
      // caller merely waited that long behind others on an endpoint that keeps answering.
      const check = (): void => {
        const quietMs = this.#now() - entry.lastRelease;
        if (quietMs < this.#stallMs) {
          timer = setTimeout(check, this.#stallMs - quietMs);
          return;
        }
        const i = entry.waiters.indexOf(wake);
        if (i >= 0) entry.waiters.splice(i, 1);
        resolve(false);
      };
      let timer = setTimeout(check, this.#stallMs);
      const wake = (granted: boolean): void => {
        clearTimeout(timer);
        resolve(granted);
      };
      entry.waiters.push(wake);
    });
    return ok ? this.#releaser(endpointId, entry) : null;
  }

  #releaser(endpointId: string, e: { active: number; lastRelease: number; waiters: Array<(ok: boolean) => void> }): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      e.lastRelease = this.#now();
      const next = e.waiters.shift();
      if (next)
        next(true); // the slot passes straight to the next waiter
      else if (--e.active === 0) this.#endpoints.delete(endpointId);
    };
  }

  /** Requests in flight to an endpoint. */
  active(endpointId: string): number {
    return this.#endpoints.get(endpointId)?.active ?? 0;
  }
}
