import type { Counter, Histogram } from 'prom-client';

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

/** prom-client's value of one histogram series (its `hashMap` entry). */
interface SeriesValues {
  labels: object;
  bucketValues: Record<number, number>;
  sum: number;
  count: number;
}

interface HistogramCell {
  labels: Record<string, string>;
  /** The series' key in prom-client's map, found once; the series is made again after a reset. */
  key: string;
  /** Observations per bucket (not cumulative) since the last flush; the last slot is above every bound. */
  counts: Float64Array;
  sum: number;
  count: number;
}

/**
 * Histogram observations kept per label set (one count per bucket, the sum and the count) and
 * added to the prom-client histogram when the registry is read, as CounterCells does for
 * counters: prom-client validates and hashes the labels on every `observe()`, even on a
 * `labels()` child. The output is prom-client's own (same buckets and exposition): the counts are
 * added to its series, which is why this reaches into its `hashMap`; the unit test compares the
 * exposition with a plain prom-client histogram fed the same values. Direct `observe()` calls on
 * the histogram still work. The series appears at the first observation, as with a child.
 */
export class HistogramCells {
  readonly #tree: LabelTree<HistogramCell>;
  readonly #histogram: Histogram;
  readonly #bounds: readonly number[];

  constructor(histogram: Histogram, bounds: readonly number[], labels: (a: string, b: string, c: string) => Record<string, string>) {
    this.#histogram = histogram;
    this.#bounds = bounds;
    this.#tree = new LabelTree((a, b, c) => {
      const cell: HistogramCell = { labels: labels(a, b, c), key: '', counts: new Float64Array(bounds.length + 1), sum: 0, count: 0 };
      this.#series(cell);
      return cell;
    });
  }

  observe(a: string, b: string, c: string, value: number): void {
    if (!Number.isFinite(value)) throw new TypeError(`Value is not a valid number: ${value}`);
    const cell = this.#tree.get(a, b, c);
    const bounds = this.#bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    cell.counts[i]! += 1;
    cell.sum += value;
    cell.count += 1;
  }

  /** prom-client's values of the cell's series, made (at zero) when missing. */
  #series(cell: HistogramCell): SeriesValues {
    const map = (this.#histogram as unknown as { hashMap: Record<string, SeriesValues> }).hashMap;
    const known = map[cell.key];
    if (known !== undefined) return known;
    this.#histogram.zero(cell.labels);
    for (const [key, values] of Object.entries(map)) {
      if (values.labels === cell.labels) {
        cell.key = key;
        return values;
      }
    }
    throw new Error(`histogram ${JSON.stringify(cell.labels)}: prom-client did not keep the series`);
  }

  flush(): void {
    const bounds = this.#bounds;
    for (const cell of this.#tree.all) {
      if (cell.count === 0) continue;
      const series = this.#series(cell);
      for (let i = 0; i < bounds.length; i++) series.bucketValues[bounds[i]!]! += cell.counts[i]!;
      series.sum += cell.sum;
      series.count += cell.count;
      cell.counts.fill(0);
      cell.sum = 0;
      cell.count = 0;
    }
  }
}
