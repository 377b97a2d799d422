import type { Counter } from 'prom-client';

/**
 * Values found by up to three label values through nested Maps. Building one combined string key
 * per call costs more than the lookups (a fresh string must be flattened and hashed each time).
 */
export class LabelTree<V> {
  readonly #root = new Map<string, Map<string, Map<string, V>>>();
  readonly #make: (a: string, b: string, c: string) => V;
  readonly all: V[] = [];

  constructor(make: (a: string, b: string, c: string) => V) {
    this.#make = make;
  }

  get(a: string, b: string, c: string): V {
    let level1 = this.#root.get(a);
    if (level1 === undefined) this.#root.set(a, (level1 = new Map()));
    let level2 = level1.get(b);
    if (level2 === undefined) level1.set(b, (level2 = new Map()));
    let value = level2.get(c);
    if (value === undefined) {
      value = this.#make(a, b, c);
      level2.set(c, value);
      this.all.push(value);
    }
    return value;
  }
}

interface Cell<L extends string> {
  labels: Partial<Record<L, string>>;
  pending: number;
}

/**
 * Counts kept as plain numbers per label set and added to the prom-client counter when the
 * registry is read. prom-client hashes and validates the label object on every `inc()`, even on
 * a `labels()` child; here the hot path is three Map lookups and an addition. Direct
 * `counter.inc()` calls still work: only the pending deltas are added at collection.
 */
export class CounterCells<L extends string> {
  readonly #tree: LabelTree<Cell<L>>;
  #counter: Counter<L> | null = null;

  constructor(labels: (a: string, b: string, c: string) => Partial<Record<L, string>>) {
    this.#tree = new LabelTree((a, b, c) => {
      const cell = { labels: labels(a, b, c), pending: 0 };
      // The series exists from here on; touched before first use, it is exported at 0.
      this.#counter?.inc(cell.labels, 0);
      return cell;
    });
  }

  attach(counter: Counter<L>): void {
    this.#counter = counter;
  }

  add(a: string, b: string, c: string): void {
    this.#tree.get(a, b, c).pending += 1;
  }

  /** Exports the series at 0 if it does not exist yet. */
  touch(a: string, b: string, c: string): void {
    this.#tree.get(a, b, c);
  }

  flush(): void {
    if (this.#counter === null) return;
    for (const cell of this.#tree.all) {
      if (cell.pending > 0) {
        this.#counter.inc(cell.labels, cell.pending);
        cell.pending = 0;
      }
    }
  }
}
