/**
 * Scenario "scaleout": the same burst to 10 endpoints through one dispatcher process, then through
 * two in one consumer group (one box, the same 6-partition input topic in both runs), so the only
 * difference is the second process. Aggregate deliveries per second of two over one.
 */
import { SERVICE_PARTS, type BoxCpu } from './box-cpu.ts';
import { DispatcherRun, watchDeliveries, type BenchContext } from './harness.ts';
import { produceBurst } from './producer.ts';
import { groupRate } from './receiver.ts';
import { round, type Summary } from './stats.ts';

export interface ScaleOutRun {
  processes: number;
  events: number;
  deliveries: number;
  duplicates: number;
  seconds: number;
  deliveriesPerS: number;
  latencyMs: Summary | null;
  /** CPU of all the processes together, s. */
  cpuS: number;
  /** CPU of each process, s (how the partitions' work was shared). */
  cpuSByProcess: number[];
  /** The largest VmHWM of the processes, MB. */
  peakRssMb: number;
  /** CPU of every process on the box over the same interval (`service` = all the dispatchers together). */
  box: BoxCpu;
}

export interface ScaleOutResult {
  runs: ScaleOutRun[];
  /** Two processes' deliveries/s over one's. */
  ratio: number;
}

const PARTITIONS = 6;
const ENDPOINTS = 10;

/** Waits until the group is stable with `members` members, each assigned (the rebalance is over). */
async function groupStable(ctx: BenchContext, groupId: string, members: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const { groups } = await ctx.kafka.admin.describeGroups([groupId]);
    const g = groups[0];
    if (g?.state === 'Stable' && g.members.length === members) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`consumer group ${groupId} not stable with ${members} members after 60 s`);
}

async function runOnce(ctx: BenchContext, processes: number, events: number): Promise<ScaleOutRun> {
  const label = `scale-out: ${processes} process${processes > 1 ? 'es' : ''}`;
  const endpoints = Array.from({ length: ENDPOINTS }, (_, i) => ({ path: `/s${i}`, behaviour: { kind: 'ok' as const } }));
  const run = await DispatcherRun.setup(ctx, `scaleout_${processes}`, endpoints, {}, PARTITIONS);
  try {
    await run.start([], processes);
    await groupStable(ctx, run.env.CONSUMER_GROUP!, processes);
    const snaps0 = run.snapshots();
    const box0 = ctx.box.mark();
    let produced = 0;
    const producing = produceBurst(ctx.kafka.producer, run.topic, run.label, events, (n) => (produced = n));
    producing.catch(() => {});
    await watchDeliveries(ctx, run, {
      label,
      paths: run.paths,
      expected: events * ENDPOINTS,
      produced: () => produced,
      producedOf: events,
    });
    await producing;
    const snaps1 = run.snapshots();
    const box1 = ctx.box.mark();
    const { groups } = await ctx.receiver.stats({ all: run.paths });
    const g = groups.all!;
    const cpuSByProcess = snaps1.map((s, i) => round(s && snaps0[i] ? s.cpuS - snaps0[i].cpuS : NaN, 3));
    const cpuS = round(
      cpuSByProcess.reduce((a, b) => a + b, 0),
      3,
    );
    return {
      processes,
      events,
      ...groupRate(g),
      cpuS,
      cpuSByProcess,
      peakRssMb: round(Math.max(...snaps1.map((s) => s?.peakRssMb ?? NaN)), 1),
      box: ctx.box.account(box0, box1, { deliveries: g.ok, serviceCpuS: cpuS, counted: SERVICE_PARTS }),
    };
  } finally {
    await run.cleanup();
  }
}

export async function runScaleOut(ctx: BenchContext, events: number): Promise<ScaleOutResult> {
  const one = await runOnce(ctx, 1, events);
  const two = await runOnce(ctx, 2, events);
  return { runs: [one, two], ratio: round(two.deliveriesPerS / one.deliveriesPerS, 3) };
}
