/**
 * Scenario "handrolled": the afternoon-project baseline (bench/handrolled-main.ts) as a process of
 * its own, on the same receiver and the same kind of input topic as the dispatcher: a burst to 1
 * endpoint, a burst to 10, and the paced run. Its rate and p99 are what the dispatcher's are
 * reported against.
 */
import { sql } from 'kysely';
import { createTestDatabase } from '../test/support/database.ts';
import { BROKERS, uniqueName } from '../test/support/kafka.ts';
import { BenchProcess } from './bench-process.ts';
import { SERVICE_PARTS, type BoxCpu } from './box-cpu.ts';
import { SECRET, watchDeliveries, type BenchContext } from './harness.ts';
import { produceBurst, producePaced } from './producer.ts';
import { groupRate } from './receiver.ts';
import { round, type Summary } from './stats.ts';
import { warmUp, type PacedOptions, type WarmUpResult } from './warm-up.ts';

export interface HandRolledRun {
  label: string;
  endpoints: number;
  events: number;
  deliveries: number;
  duplicates: number;
  seconds: number;
  deliveriesPerS: number;
  latencyMs: Summary | null;
  cpuS: number;
  cpuUsPerDelivery: number;
  peakRssMb: number;
  /** Rows the baseline inserted into its attempts table (one per delivery). */
  attemptsLogged: number;
  /** Paced runs: the rate asked for, events/s. */
  pacedRate?: number;
  /** Paced runs: the warm-up before the measured run (not in any other figure here). */
  warmUp?: WarmUpResult | null;
  /** CPU of every process on the box over the same interval as `cpuS` (`service` = the hand-rolled process). */
  box: BoxCpu;
}

export interface HandRolledResult {
  burst: HandRolledRun[];
  paced: HandRolledRun | null;
}

const PARTITIONS = 3;

async function runOnce(
  ctx: BenchContext,
  o: { label: string; endpoints: number; events?: number; paced?: PacedOptions },
): Promise<HandRolledRun> {
  const paths = Array.from({ length: o.endpoints }, (_, i) => `/hr${i}`);
  await ctx.receiver.routes(Object.fromEntries(paths.map((p) => [p, { kind: 'ok' as const }])));
  const db = await createTestDatabase('bench_handrolled');
  const topic = uniqueName('bench-handrolled') + '.events';
  await ctx.kafka.createTopic(topic, PARTITIONS);
  const proc = new BenchProcess('handrolled', ['bench/handrolled-main.ts'], {
    KAFKA_BROKERS: BROKERS.join(','),
    DATABASE_URL: db.url,
    TOPIC: topic,
    GROUP: uniqueName('bench-handrolled-group'),
    PARTITIONS: String(PARTITIONS),
    ENDPOINTS: JSON.stringify(paths.map((p, i) => ctx.receiver.url(i, p))),
    SECRET,
  });
  try {
    await proc.waitReady(async () => proc.output.includes('ready'));
    const warm = o.paced
      ? await warmUp(ctx, {
          label: o.label,
          producer: ctx.kafka.producer,
          topic,
          tag: 'hr',
          paths,
          rate: o.paced.rate,
          seconds: o.paced.warmupSeconds,
          run: null,
        })
      : null;
    const snap0 = proc.snapshot();
    const box0 = ctx.box.mark();
    const events = o.paced ? Math.round(o.paced.rate * o.paced.seconds) : o.events!;
    let produced = 0;
    const producing = o.paced
      ? producePaced(ctx.kafka.producer, topic, 'hr', o.paced.rate, o.paced.seconds, (n) => (produced = n))
      : produceBurst(ctx.kafka.producer, topic, 'hr', events, (n) => (produced = n));
    producing.catch(() => {}); // awaited below; a failure meanwhile shows as a stall
    await watchDeliveries(ctx, null, {
      label: o.label,
      paths,
      expected: events * o.endpoints,
      produced: () => produced,
      producedOf: events,
    });
    await producing;
    const snap1 = proc.snapshot();
    const box1 = ctx.box.mark();
    const { groups } = await ctx.receiver.stats({ all: paths });
    const g = groups.all!;
    const cpuS = snap0 && snap1 ? snap1.cpuS - snap0.cpuS : NaN;
    const logged = await sql<{ n: number }>`select count(*)::int as n from public.bench_attempts`.execute(db.db);
    return {
      label: o.label,
      endpoints: o.endpoints,
      events,
      ...groupRate(g),
      cpuS: round(cpuS, 3),
      cpuUsPerDelivery: round((cpuS * 1e6) / g.ok, 0),
      peakRssMb: round(snap1?.peakRssMb ?? NaN, 1),
      box: ctx.box.account(box0, box1, { deliveries: g.ok, serviceCpuS: cpuS, counted: SERVICE_PARTS }),
      attemptsLogged: logged.rows[0]!.n - (warm?.deliveries ?? 0),
      ...(o.paced ? { pacedRate: o.paced.rate, warmUp: warm } : {}),
    };
  } finally {
    await proc.stop(10_000);
    await db.drop().catch(() => {});
    ctx.topicsToDelete.add(topic);
  }
}

export async function runHandRolled(ctx: BenchContext, o: { events: number; paced: PacedOptions | null }): Promise<HandRolledResult> {
  const burst: HandRolledRun[] = [];
  for (const m of [1, 10]) {
    burst.push(await runOnce(ctx, { label: `hand-rolled: ${m} endpoint${m > 1 ? 's' : ''}`, endpoints: m, events: o.events }));
  }
  const paced = o.paced ? await runOnce(ctx, { label: `hand-rolled: paced ${o.paced.rate}/s`, endpoints: 1, paced: o.paced }) : null;
  return { burst, paced };
}
