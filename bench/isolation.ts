/**
 * Scenario 3, isolation: nine healthy endpoints alone, then the same nine with a tenth that never
 * answers (the dispatcher's DELIVERY_TIMEOUT_MS stays at its 10 s default). The nine's deliveries
 * per second with the hung neighbour, as a ratio of without, says whether one bad endpoint slows
 * the others. Each endpoint has its own origin (port), as distinct customers do.
 */
import { sql, type RawBuilder } from 'kysely';
import { profiledRun, type ProfileSummary } from './cpu-profile.ts';
import { SERVICE_PARTS, type BoxCpu } from './box-cpu.ts';
import { DispatcherRun, watchDeliveries, type BenchContext, type EndpointSpec } from './harness.ts';
import { produceBurst } from './producer.ts';
import { groupRate } from './receiver.ts';
import { round, type Summary } from './stats.ts';

export interface IsolationRun {
  label: string;
  events: number;
  /** 2xx answers to the nine healthy endpoints. */
  deliveries: number;
  duplicates: number;
  seconds: number;
  deliveriesPerS: number;
  latencyMs: Summary | null;
  /** Attempts to the nine made only after a deferral to the first delay topic. */
  deferred: number;
  /** Requests the hung endpoint received (attempts that then timed out or were cut). */
  hungRequests: number;
  /**
   * Attempts to the hung endpoint failed unsent (`stalled`, its circuit open) and logged by the
   * time the nine's last delivery arrived: each was logged, produced to a delay topic and (from
   * the second) consumed back, so (CPU with − CPU without) / this is what one costs.
   */
  stalledAttempts: number;
  cpuS: number;
  peakRssMb: number;
  /** CPU of every process on the box over the same interval as `cpuS`, per healthy delivery. */
  box: BoxCpu;
  /** With --cpu-prof: the dispatcher's profile of this run. */
  profile?: ProfileSummary & { file: string };
}

export interface IsolationResult {
  baseline: IsolationRun;
  withHung: IsolationRun;
  /** withHung.deliveriesPerS / baseline.deliveriesPerS. */
  ratio: number;
}

async function runOnce(ctx: BenchContext, label: string, events: number, hung: boolean, cpuProfDir?: string | null): Promise<IsolationRun> {
  const healthy: EndpointSpec[] = Array.from({ length: 9 }, (_, i) => ({ path: `/h${i}`, behaviour: { kind: 'ok' } }));
  const endpoints = hung ? [...healthy, { path: '/hung', behaviour: { kind: 'hang' as const } }] : healthy;
  const run = await DispatcherRun.setup(ctx, label.replace(/[^a-z0-9]+/gi, '_'), endpoints);
  let stopped = false;
  try {
    const profiling = await profiledRun(cpuProfDir);
    await run.start(profiling.args);
    const snap0 = run.snapshot();
    const box0 = ctx.box.mark();
    let produced = 0;
    const producing = produceBurst(ctx.kafka.producer, run.topic, run.label, events, (n) => (produced = n));
    producing.catch(() => {});
    const paths = healthy.map((e) => e.path);
    await watchDeliveries(ctx, run, { label, paths, expected: events * 9, produced: () => produced, producedOf: events });
    await producing;
    const snap1 = run.snapshot();
    const box1 = ctx.box.mark();
    const { groups } = await ctx.receiver.stats({ nine: paths, hung: ['/hung'] });
    const g = groups.nine!;
    const nine = endpoints.slice(0, 9).map((e) => run.endpointUrl(e.path));
    const count = async (where: RawBuilder<unknown>): Promise<number> =>
      (await sql<{ n: number }>`select count(*)::int as n from webhooks.attempts where ${where}`.execute(run.db.db)).rows[0]!.n;
    const deferred = await count(sql`due_at is not null and url = any(${nine})`);
    const stalledAttempts = hung ? await count(sql`error_kind = 'stalled' and url = ${run.endpointUrl('/hung')}`) : 0;
    const cpuS = snap0 && snap1 ? snap1.cpuS - snap0.cpuS : NaN;
    const result: IsolationRun = {
      label,
      events,
      ...groupRate(g),
      deferred,
      hungRequests: groups.hung?.requests ?? 0,
      stalledAttempts,
      cpuS: round(cpuS, 3),
      peakRssMb: round(snap1?.peakRssMb ?? NaN, 1),
      box: ctx.box.account(box0, box1, { deliveries: g.ok, serviceCpuS: cpuS, counted: SERVICE_PARTS }),
    };
    if (cpuProfDir) {
      // A profile is written only on a clean exit: cut the hung requests, then stop it.
      await ctx.receiver.reset();
      stopped = true;
      const exitCode = await run.stop();
      const profile = await profiling.collect();
      if (profile) result.profile = profile;
      else ctx.progress(`[${label}] no .cpuprofile written (exit code ${exitCode})`);
    }
    return result;
  } finally {
    // Cut the hung requests first, so the dispatcher is not holding them when it is killed.
    if (!stopped) await ctx.receiver.reset();
    await run.cleanup();
  }
}

export async function runIsolation(ctx: BenchContext, events: number, cpuProfDir?: string | null): Promise<IsolationResult> {
  const baseline = await runOnce(ctx, 'isolation: 9 healthy', events, false, cpuProfDir);
  const withHung = await runOnce(ctx, 'isolation: 9 healthy + 1 hung', events, true, cpuProfDir);
  return { baseline, withHung, ratio: round(withHung.deliveriesPerS / baseline.deliveriesPerS, 3) };
}
