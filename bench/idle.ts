/**
 * Scenario "idle": the dispatcher ready (consumers joined, 10 endpoints loaded) with no traffic.
 * After `seconds` its resident memory (VmRSS) is read from /proc and its heap, by V8 space, from
 * its own /metrics (prom-client's default Node metrics), so the table says what idle RSS is made of.
 */
import { DispatcherRun, type BenchContext } from './harness.ts';
import { round } from './stats.ts';

export interface IdleResult {
  endpoints: number;
  /** Ready → measured, s. */
  seconds: number;
  rssMb: number;
  peakRssMb: number;
  /** V8 heap used / committed, MB. */
  heapUsedMb: number;
  heapTotalMb: number;
  /** Memory of C++ objects bound to JS (Buffers included), MB. */
  externalMb: number;
  /** Used bytes per V8 heap space (new_space, old_space, code_space …), MB. */
  heapSpacesUsedMb: Record<string, number>;
  /** Committed bytes per V8 heap space, MB. */
  heapSpacesSizeMb: Record<string, number>;
  cpuS: number;
}

const MB = 1024 * 1024;

/** Values of `name` in a Prometheus text exposition, keyed by the `space` label (or '' without). */
export function metricValues(text: string, name: string): Record<string, number> {
  const out: Record<string, number> = {};
  const re = new RegExp(`^${name}(?:\\{([^}]*)\\})? ([0-9.eE+-]+)$`, 'gm');
  for (const m of text.matchAll(re)) {
    const space = /space="([^"]+)"/.exec(m[1] ?? '')?.[1] ?? '';
    out[space] = Number(m[2]);
  }
  return out;
}

const inMb = (o: Record<string, number>): Record<string, number> =>
  Object.fromEntries(Object.entries(o).map(([k, v]) => [k, round(v / MB, 1)]));

export async function runIdle(ctx: BenchContext, o: { endpoints: number; seconds: number }): Promise<IdleResult> {
  const endpoints = Array.from({ length: o.endpoints }, (_, i) => ({ path: `/i${i}`, behaviour: { kind: 'ok' as const } }));
  const run = await DispatcherRun.setup(ctx, 'idle', endpoints);
  try {
    await run.start();
    const snap0 = run.snapshot();
    ctx.progress(`[idle] ready; measuring after ${o.seconds} s without traffic`);
    await new Promise((r) => setTimeout(r, o.seconds * 1000));
    const text = await run.metrics();
    const snap1 = run.snapshot();
    const one = (name: string): number => Object.values(metricValues(text, name))[0] ?? NaN;
    return {
      endpoints: o.endpoints,
      seconds: o.seconds,
      rssMb: round(snap1?.rssMb ?? NaN, 1),
      peakRssMb: round(snap1?.peakRssMb ?? NaN, 1),
      heapUsedMb: round(one('nodejs_heap_size_used_bytes') / MB, 1),
      heapTotalMb: round(one('nodejs_heap_size_total_bytes') / MB, 1),
      externalMb: round(one('nodejs_external_memory_bytes') / MB, 1),
      heapSpacesUsedMb: inMb(metricValues(text, 'nodejs_heap_space_size_used_bytes')),
      heapSpacesSizeMb: inMb(metricValues(text, 'nodejs_heap_space_size_total_bytes')),
      cpuS: round(snap0 && snap1 ? snap1.cpuS - snap0.cpuS : NaN, 2),
    };
  } finally {
    await run.cleanup();
  }
}
