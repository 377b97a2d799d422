/**
 * Scenario 1, throughput: N events to M endpoints on the fast receiver, produced while the
 * dispatcher runs; and a paced run (1,000 events/s by default) for the latency at a steady rate.
 */
import { profiledRun, type ProfileSummary } from './cpu-profile.ts';
import { SERVICE_PARTS, type BoxCpu } from './box-cpu.ts';
import { DispatcherRun, watchDeliveries, type BenchContext } from './harness.ts';
import { produceBurst, producePaced } from './producer.ts';
import { groupRate } from './receiver.ts';
import { round, type Summary } from './stats.ts';
import { warmUp, type PacedOptions, type WarmUpResult } from './warm-up.ts';

export interface ThroughputResult {
  label: string;
  endpoints: number;
  events: number;
  /** 2xx answers the receiver counted (should be events × endpoints). */
  deliveries: number;
  /** Deliveries received more than once (2xx answers − distinct delivery ids); at least once allows it, but nothing crashed here. */
  duplicates: number;
  /** Deliveries recorded as succeeded in webhooks.deliveries. */
  recorded: number;
  /** Attempts made only after a deferral to the first delay topic (the endpoint looked stalled). */
  deferred: number;
  /** First to last delivery received, s. */
  seconds: number;
  deliveriesPerS: number;
  eventsPerS: number;
  /** Event produced → request received, ms. */
  latencyMs: Summary | null;
  /** Dispatcher CPU (user + system) from ready to the last delivery, s. */
  cpuS: number;
  /** Dispatcher CPU per delivery, µs. */
  cpuUsPerDelivery: number;
  /** Dispatcher cores busy on average over the run (cpuS / wall time). */
  cores: number;
  /** VmHWM of the dispatcher at the end, MB. */
  peakRssMb: number;
  /** Receiver CPU over the run, s (if near the wall time, the receiver was the limit). */
  receiverCpuS: number;
  /** Time to produce the events, s. */
  produceSeconds: number;
  /** Exit code after SIGTERM (0 = clean shutdown). */
  exitCode: number | null;
  /** Paced runs: the rate asked for, events/s. */
  pacedRate?: number;
  /** Paced runs: the warm-up before the measured run (not in any other figure here). */
  warmUp?: WarmUpResult | null;
  profile?: ProfileSummary & { file: string };
  /** CPU of every process on the box over the same interval as `cpuS`, and per delivery. */
  box: BoxCpu;
}

interface Options {
  label: string;
  endpoints: number;
  /** Burst: this many events as fast as possible. */
  events?: number;
  /** Paced: this rate for this long. */
  paced?: PacedOptions;
  cpuProfDir?: string | null;
}

export async function runThroughput(ctx: BenchContext, o: Options): Promise<ThroughputResult> {
  const endpoints = Array.from({ length: o.endpoints }, (_, i) => ({ path: `/e${i}`, behaviour: { kind: 'ok' as const } }));
  const run = await DispatcherRun.setup(ctx, o.label.replace(/[^a-z0-9]+/gi, '_'), endpoints);
  try {
    const profiling = await profiledRun(o.cpuProfDir);
    await run.start(profiling.args);
    const warm = o.paced
      ? await warmUp(ctx, {
          label: o.label,
          producer: ctx.kafka.producer,
          topic: run.topic,
          tag: run.label,
          paths: run.paths,
          rate: o.paced.rate,
          seconds: o.paced.warmupSeconds,
          run,
        })
      : null;
    const snap0 = run.snapshot();
    const box0 = ctx.box.mark();
    const events = o.paced ? Math.round(o.paced.rate * o.paced.seconds) : o.events!;
    const expected = events * o.endpoints;
    let produced = 0;
    const producing = o.paced
      ? producePaced(ctx.kafka.producer, run.topic, run.label, o.paced.rate, o.paced.seconds, (n) => (produced = n))
      : produceBurst(ctx.kafka.producer, run.topic, run.label, events, (n) => (produced = n));
    let produceError: unknown = null;
    producing.catch((err: unknown) => (produceError = err)); // awaited below; a failure ends the wait
    await watchDeliveries(ctx, run, {
      label: o.label,
      paths: run.paths,
      expected,
      produced: () => produced,
      producedOf: events,
      produceError: () => produceError,
    });
    const producedResult = await producing;
    const snap1 = run.snapshot();
    const box1 = ctx.box.mark();
    const { groups, cpuS: receiverCpuS } = await ctx.receiver.stats({ all: run.paths });
    const g = groups.all!;
    const warmDeliveries = warm?.deliveries ?? 0;
    const recorded = (await run.waitRecorded(expected + warmDeliveries)) - warmDeliveries;
    const deferred = await run.deferredAttempts();
    const exitCode = await run.stop();
    const seconds = g.firstAt !== null && g.lastAt !== null ? (g.lastAt - g.firstAt) / 1000 : NaN;
    const cpuS = snap0 && snap1 ? snap1.cpuS - snap0.cpuS : NaN;
    const wall = seconds > 0 ? seconds : producedResult.seconds;
    const result: ThroughputResult = {
      label: o.label,
      endpoints: o.endpoints,
      events,
      ...groupRate(g),
      recorded,
      deferred,
      eventsPerS: round(events / seconds, 0),
      cpuS: round(cpuS, 3),
      cpuUsPerDelivery: round((cpuS * 1e6) / g.ok, 0),
      cores: round(cpuS / wall, 2),
      peakRssMb: round(snap1?.peakRssMb ?? NaN, 1),
      receiverCpuS: round(receiverCpuS, 2),
      produceSeconds: round(producedResult.seconds, 2),
      exitCode,
      box: ctx.box.account(box0, box1, { deliveries: g.ok, serviceCpuS: cpuS, counted: SERVICE_PARTS }),
      ...(o.paced ? { pacedRate: o.paced.rate, warmUp: warm } : {}),
    };
    if (o.cpuProfDir) {
      const profile = await profiling.collect();
      if (profile) result.profile = profile;
      else ctx.progress(`[${o.label}] no .cpuprofile written (exit code ${exitCode})`);
    }
    return result;
  } finally {
    await run.cleanup();
  }
}
