/** Small numeric helpers shared by the bench and its receiver process. */

/**
 * Ms on the machine's monotonic clock (CLOCK_MONOTONIC, which `process.hrtime` reads), with sub-ms
 * resolution: the same clock in every process of the machine, so a time taken in one process (the
 * driver's `produced_at`) can be compared with one taken in another (the receiver's arrival). Not
 * a date. `performance.timeOrigin + performance.now()` was used before, but each process anchors
 * its timeOrigin to the wall clock once, at its start, and time sync steps and slews the wall
 * clock: on the build VMs two processes started minutes apart disagreed by several ms (a paced
 * run's p50 latency came out negative, -4.8 ms).
 */
export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

export interface Summary {
  count: number;
  min: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentiles of `values` (sorted in place). Null when empty. */
export function summarize(values: Float64Array | number[]): Summary | null {
  const n = values.length;
  if (n === 0) return null;
  const sorted = values instanceof Float64Array ? values.sort() : Float64Array.from(values).sort();
  const at = (q: number): number => sorted[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))]!;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += sorted[i]!;
  return { count: n, min: sorted[0]!, p50: at(0.5), p95: at(0.95), p99: at(0.99), max: sorted[n - 1]!, mean: sum / n };
}

/** A Float64Array that grows; avoids a boxed number per sample. */
export class Samples {
  #data = new Float64Array(1024);
  #n = 0;

  push(v: number): void {
    if (this.#n === this.#data.length) {
      const bigger = new Float64Array(this.#data.length * 2);
      bigger.set(this.#data);
      this.#data = bigger;
    }
    this.#data[this.#n++] = v;
  }

  get length(): number {
    return this.#n;
  }

  /** A copy of the samples so far. */
  values(): Float64Array {
    return this.#data.slice(0, this.#n);
  }
}

export const round = (v: number, digits = 1): number => {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
};

/** 12345.6 → "12,346". */
export function fmtInt(v: number | null | undefined): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '-' : Math.round(v).toLocaleString('en-US');
}

export function fmt(v: number | null | undefined, digits = 1): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(digits);
}
