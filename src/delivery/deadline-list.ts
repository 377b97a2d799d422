/**
 * The deadlines of the attempts in flight, with one timer for all of them. Every attempt of a
 * deliverer has the same timeout, so the order they start in is the order their deadlines fall
 * in: a FIFO list (linked through the entries themselves, so adding and removing allocate
 * nothing) whose head is the next to expire. A timer per attempt cost an object, a list insert
 * and an unlink per request, and its callback when the attempt was slow.
 */

/** An attempt as the list holds it. Entries must be added in deadline order. */
export interface DeadlineEntry {
  /** When it expires, on the `now()` clock (performance.now by default), ms. */
  readonly deadline: number;
  /** Called once when the deadline has passed, after the entry has left the list. */
  expire(): void;
  prevDeadline: DeadlineEntry | null;
  nextDeadline: DeadlineEntry | null;
}

export class DeadlineList {
  #head: DeadlineEntry | null = null;
  #tail: DeadlineEntry | null = null;
  #timer: NodeJS.Timeout | null = null;
  readonly #now: () => number;
  readonly #fire = (): void => this.#expire();

  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  /** Adds an entry whose deadline is no earlier than any already in the list. */
  add(e: DeadlineEntry): void {
    e.prevDeadline = this.#tail;
    e.nextDeadline = null;
    if (this.#tail === null) this.#head = e;
    else this.#tail.nextDeadline = e;
    this.#tail = e;
    if (this.#timer === null) this.#arm(e.deadline - this.#now());
  }

  /** Takes an entry out (its attempt finished); a no-op for one not in the list. */
  remove(e: DeadlineEntry): void {
    if (e.prevDeadline === null && this.#head !== e) return;
    if (e.prevDeadline === null) this.#head = e.nextDeadline;
    else e.prevDeadline.nextDeadline = e.nextDeadline;
    if (e.nextDeadline === null) this.#tail = e.prevDeadline;
    else e.nextDeadline.prevDeadline = e.prevDeadline;
    e.prevDeadline = null;
    e.nextDeadline = null;
    // The timer stays armed for a head that left; it then moves to the new head. With nothing in
    // flight it is cleared, so an idle deliverer holds no timer.
    if (this.#head === null && this.#timer !== null) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
  }

  /** Entries in the list (tests). */
  get size(): number {
    let n = 0;
    for (let e = this.#head; e !== null; e = e.nextDeadline) n++;
    return n;
  }

  // Timers run against the event loop's cached clock and may fire a little early: an entry
  // expires only once the clock has passed its deadline, so a timeout is never early.
  #expire(): void {
    this.#timer = null;
    const now = this.#now();
    let e = this.#head;
    while (e !== null && e.deadline <= now) {
      this.remove(e);
      e.expire();
      e = this.#head;
    }
    if (e !== null && this.#timer === null) this.#arm(e.deadline - now);
  }

  #arm(ms: number): void {
    this.#timer = setTimeout(this.#fire, Math.max(1, Math.ceil(ms)));
  }
}
