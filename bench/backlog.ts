/**
 * Scenario 5, backlog: the input topic already holds the events when the dispatcher starts (one
 * endpoint). Time to drain, and memory: VmRSS sampled through the run and the peak (VmHWM),
 * at N and at N/4 events; a bounded dispatcher has about the same peak at both.
 */
import { DispatcherRun, watchDeliveries, type BenchContext } from './harness.ts';
import { RssSampler } from './process-stats.ts';
import { produceBurst } from './producer.ts';
import { nowMs, round, type Summary } from './stats.ts';

export interface BacklogRun {
  events: number;
  deliveries: number;
  duplicates: number;
  recorded: number;
  /** Attempts made only after a deferral to the first delay topic (the endpoint looked stalled). */
  deferred: number;
  /** Process spawned → /readyz 200, s. */
  startS: number;
  /** Process spawned → last delivery received, s (startup included: consumption may begin before /readyz says so). */
  drainS: number;
  /** Deliveries per second from the first to the last delivery received. */
  deliveriesPerS: number;
  cpuS: number;
  /** VmHWM at the end, MB. */
  peakRssMb: number;
  /** Highest VmRSS sampled (every 250 ms), MB. */
  maxSampledRssMb: number;
  rssSeries: Array<[seconds: number, rssMb: number]>;
  /** Produced → received; includes the time an event waited in the backlog. */
  latencyMs: Summary | null;
}

export interface BacklogResult {
  runs: BacklogRun[];
  /** Peak RSS at N over peak RSS at N/4 (1.0 = independent of the backlog). */
  peakRatio: number;
}

async function runOnce(ctx: BenchContext, events: number): Promise<BacklogRun> {
  const run = await DispatcherRun.setup(ctx, `backlog_${events}`, [{ path: '/b0', behaviour: { kind: 'ok' } }]);
  try {
    let lastPrint = 0;
    await produceBurst(ctx.kafka.producer, run.topic, run.label, events, (n) => {
      if (performance.now() - lastPrint > 1000 || n === events) {
        lastPrint = performance.now();
        ctx.progress(
          `[backlog ${events.toLocaleString('en-US')}] produced ${n.toLocaleString('en-US')}/${events.toLocaleString('en-US')} before start`,
        );
      }
    });
    const spawnedAt = performance.now();
    const spawnedWall = nowMs();
    await run.start();
    const readyAt = performance.now();
    const sampler = new RssSampler(run.pid);
    const snap0 = run.snapshot();
    try {
      await watchDeliveries(ctx, run, { label: `backlog ${events.toLocaleString('en-US')}`, paths: ['/b0'], expected: events });
    } finally {
      sampler.stop();
    }
    sampler.sample();
    const snap1 = run.snapshot();
    const { groups } = await ctx.receiver.stats({ all: ['/b0'] });
    const g = groups.all!;
    const recorded = await run.waitRecorded(events);
    const deferred = await run.deferredAttempts();
    const drainS = (g.lastAt! - spawnedWall) / 1000;
    return {
      events,
      deliveries: g.ok,
      duplicates: g.ok - g.unique,
      recorded,
      deferred,
      startS: round((readyAt - spawnedAt) / 1000, 2),
      drainS: round(drainS, 3),
      deliveriesPerS: round(g.ok / ((g.lastAt! - g.firstAt!) / 1000), 0),
      cpuS: round(snap0 && snap1 ? snap1.cpuS - snap0.cpuS : NaN, 2),
      peakRssMb: round(snap1?.peakRssMb ?? NaN, 1),
      maxSampledRssMb: round(sampler.maxRssMb, 1),
      rssSeries: sampler.downsampled(),
      latencyMs: g.latencyMs,
    };
  } finally {
    await run.cleanup();
  }
}

export async function runBacklog(ctx: BenchContext, events: number): Promise<BacklogResult> {
  const small = await runOnce(ctx, Math.max(10, Math.round(events / 4)));
  const large = await runOnce(ctx, events);
  return { runs: [large, small], peakRatio: round(large.peakRssMb / small.peakRssMb, 2) };
}
