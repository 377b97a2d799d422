/** The ratios and the targets of issue #15, from the results of the scenarios of one run. */
import type { BacklogResult } from './backlog.ts';
import { boxBound } from './box-cpu.ts';
import type { HandRolledResult } from './handrolled.ts';
import type { IdleResult } from './idle.ts';
import type { IsolationResult } from './isolation.ts';
import type { RawKafkaResult, RawUndiciResult } from './raw.ts';
import type { RetryResult } from './retry-timing.ts';
import type { ScaleOutResult } from './scale-out.ts';
import { fmt, fmtInt, round } from './stats.ts';
import type { ThroughputResult } from './throughput.ts';

export interface Results {
  idle?: IdleResult;
  throughput?: { burst: ThroughputResult[]; paced: ThroughputResult[] };
  raw?: { undici: RawUndiciResult[]; kafka: RawKafkaResult };
  handRolled?: HandRolledResult;
  scaleOut?: ScaleOutResult;
  isolation?: IsolationResult;
  retry?: RetryResult;
  backlog?: BacklogResult;
}

export interface Target {
  name: string;
  target: string;
  measured: string;
  value: number | null;
  /** null: not run, or reported for information only. */
  met: boolean | null;
}

const ratio = (a: number | undefined | null, b: number | undefined | null): number | null => (a && b ? round(a / b, 3) : null);

export function ratiosAndTargets(r: Results): { ratios: Record<string, number | null>; targets: Target[] } {
  const burst = r.throughput?.burst ?? [];
  const paced = r.throughput?.paced ?? [];
  const byEndpoints = (m: number): ThroughputResult | undefined => burst.find((t) => t.endpoints === m);
  const rawOf = (m: number): RawUndiciResult | undefined => r.raw?.undici.find((u) => u.endpoints === m);
  const handOf = (m: number) => r.handRolled?.burst.find((h) => h.endpoints === m);
  const [one, ten] = [byEndpoints(1), byEndpoints(10)];
  const [raw1, raw10] = [rawOf(1), rawOf(10)];
  const target = paced[0];
  const ratios = {
    dispatcher1VsUndici: ratio(one?.deliveriesPerS, raw1?.requestsPerS),
    dispatcher10VsUndici: ratio(ten?.deliveriesPerS, raw10?.requestsPerS),
    cpu1VsUndici: ratio(one?.cpuUsPerDelivery, raw1?.cpuUsPerRequest),
    cpu10VsUndici: ratio(ten?.cpuUsPerDelivery, raw10?.cpuUsPerRequest),
    dispatcherEventsVsKafkajs: ratio(one?.eventsPerS, r.raw?.kafka.messagesPerS),
    dispatcher1VsHandRolled: ratio(one?.deliveriesPerS, handOf(1)?.deliveriesPerS),
    dispatcher10VsHandRolled: ratio(ten?.deliveriesPerS, handOf(10)?.deliveriesPerS),
    pacedP99VsHandRolled: ratio(target?.latencyMs?.p99, r.handRolled?.paced?.latencyMs?.p99),
    scaleOut: r.scaleOut?.ratio ?? null,
    isolation: r.isolation?.ratio ?? null,
    backlogPeakRss: r.backlog?.peakRatio ?? null,
    boxAllows1: boxBound(one?.box, raw1?.box).bound,
    boxAllows10: boxBound(ten?.box, raw10?.box).bound,
    boxAllowsCheapDispatcher1: boxBound(one?.box, raw1?.box).cheapService,
    boxAllowsCheapDispatcher10: boxBound(ten?.box, raw10?.box).cheapService,
    boxAllowsWithCoresLeft1: boxBound(one?.box, raw1?.box).boundLeft,
    boxAllowsWithCoresLeft10: boxBound(ten?.box, raw10?.box).boundLeft,
    boxAllowsCheapDispatcherWithCoresLeft1: boxBound(one?.box, raw1?.box).cheapServiceLeft,
    boxAllowsCheapDispatcherWithCoresLeft10: boxBound(ten?.box, raw10?.box).cheapServiceLeft,
  };
  const targets: Target[] = [];
  const add = (name: string, goal: string, value: number | null | undefined, measured: string, met: boolean | null): void => {
    const v = value ?? null;
    targets.push({ name, target: goal, value: v, measured: v === null ? 'not run' : measured, met: v === null ? null : met });
  };
  for (const [m, min, rt, raw] of [
    [1, 0.6, one, raw1],
    [10, 0.7, ten, raw10],
  ] as const) {
    const x = m === 1 ? ratios.dispatcher1VsUndici : ratios.dispatcher10VsUndici;
    add(
      `throughput vs raw undici, ${m} endpoint${m > 1 ? 's' : ''}`,
      `≥ ${min}`,
      x,
      `${fmt(x, 2)} (${fmtInt(rt?.deliveriesPerS)} vs ${fmtInt(raw?.requestsPerS)}/s)`,
      (x ?? 0) >= min,
    );
    // What the two cores allow that ratio to be, from the box accounting of the same two runs.
    const ours = rt?.box?.usPerDelivery;
    const theirs = raw?.box?.usPerDelivery;
    const { bound, cheapService, cheapBoxUs, boundLeft, cheapServiceLeft } = boxBound(rt?.box, raw?.box);
    // The cores other processes left each run: on a shared machine only the scaled bound is one.
    const left = `cores left ${fmt(rt?.box?.coresLeft, 2)} vs ${fmt(raw?.box?.coresLeft, 2)}`;
    add(
      `  box allows (CPU only), ${m} endpoint${m > 1 ? 's' : ''}`,
      'info',
      bound,
      `≤ ${fmt(bound, 2)} (raw ${fmt(theirs?.box, 0)} vs ${fmt(ours?.box, 0)} µs per delivery); ${left}: ≤ ${fmt(boundLeft, 2)}; measured ${fmt(x, 2)}`,
      null,
    );
    add(
      `  box allows, dispatcher at the raw loop's µs, ${m} endpoint${m > 1 ? 's' : ''}`,
      'info',
      cheapService,
      `≤ ${fmt(cheapService, 2)} (${fmt(ours?.service, 0)} → ${fmt(theirs?.driver, 0)} µs: raw ${fmt(theirs?.box, 0)} vs ${fmt(cheapBoxUs, 0)} µs); ${left}: ≤ ${fmt(cheapServiceLeft, 2)}`,
      null,
    );
  }
  for (const [m, rt, raw] of [
    [1, one, raw1],
    [10, ten, raw10],
  ] as const) {
    const x = m === 1 ? ratios.cpu1VsUndici : ratios.cpu10VsUndici;
    add(
      `CPU per delivery vs raw undici loop's, ${m} endpoint${m > 1 ? 's' : ''}`,
      '≤ 1.3×',
      x,
      `${fmt(x, 2)}× (${fmtInt(rt?.cpuUsPerDelivery)} vs ${fmtInt(raw?.cpuUsPerRequest)} µs)`,
      (x ?? Infinity) <= 1.3,
    );
  }
  add(
    `p99 latency at ${fmtInt(target?.pacedRate ?? 1000)} events/s`,
    '< 50 ms',
    target?.latencyMs?.p99,
    `${fmt(target?.latencyMs?.p99)} ms`,
    (target?.latencyMs?.p99 ?? Infinity) < 50,
  );
  for (const p of paced.slice(1)) {
    add(`p99 latency at ${fmtInt(p.pacedRate)} events/s (reported)`, 'info', p.latencyMs?.p99, `${fmt(p.latencyMs?.p99)} ms`, null);
  }
  const info = (name: string, value: number | null, measured: string): void => add(name, 'info', value, measured, null);
  info(
    'throughput vs hand-rolled consumer, 1 endpoint',
    ratios.dispatcher1VsHandRolled,
    `${fmt(ratios.dispatcher1VsHandRolled, 2)} (${fmtInt(one?.deliveriesPerS)} vs ${fmtInt(handOf(1)?.deliveriesPerS)}/s)`,
  );
  info(
    'throughput vs hand-rolled consumer, 10 endpoints',
    ratios.dispatcher10VsHandRolled,
    `${fmt(ratios.dispatcher10VsHandRolled, 2)} (${fmtInt(ten?.deliveriesPerS)} vs ${fmtInt(handOf(10)?.deliveriesPerS)}/s)`,
  );
  info(
    `paced p99 vs hand-rolled consumer's (${fmtInt(target?.pacedRate ?? 1000)}/s)`,
    ratios.pacedP99VsHandRolled,
    `${fmt(ratios.pacedP99VsHandRolled, 2)} (${fmt(target?.latencyMs?.p99)} vs ${fmt(r.handRolled?.paced?.latencyMs?.p99)} ms)`,
  );
  const so = r.scaleOut?.runs ?? [];
  info(
    'scale-out: 2 processes vs 1, one box (10 endpoints)',
    ratios.scaleOut,
    `${fmt(ratios.scaleOut, 2)} (${fmtInt(so[1]?.deliveriesPerS)} vs ${fmtInt(so[0]?.deliveriesPerS)}/s)`,
  );
  info(
    'events/s vs raw kafkajs consumer',
    ratios.dispatcherEventsVsKafkajs,
    `${fmt(ratios.dispatcherEventsVsKafkajs, 2)} (${fmtInt(one?.eventsPerS)} vs ${fmtInt(r.raw?.kafka.messagesPerS)}/s)`,
  );
  add(
    'isolation ratio (9 healthy with a hung 10th / without)',
    '≥ 0.9',
    ratios.isolation,
    fmt(ratios.isolation, 2),
    (ratios.isolation ?? 0) >= 0.9,
  );
  const all = r.retry?.tiers.find((t) => t.tier === 'all');
  const early = all ? all.earlyFromLog + all.earlyFromReceiver : null;
  add(
    'retries never early',
    '0 early',
    early,
    `${early} early (log ${all?.earlyFromLog}, receiver ${all?.earlyFromReceiver})`,
    early === 0,
  );
  add(
    'retry lateness p99 (delivery log)',
    '< 1000 ms',
    all?.fromLog?.p99,
    `${fmt(all?.fromLog?.p99)} ms (max ${fmt(all?.fromLog?.max)} ms)`,
    (all?.fromLog?.p99 ?? Infinity) < 1000,
  );
  const peaks = [...burst, ...paced]
    .map((t) => t.peakRssMb)
    .concat(
      r.idle ? [r.idle.peakRssMb] : [],
      so.map((s) => s.peakRssMb),
      (r.backlog?.runs ?? []).map((b) => b.peakRssMb),
      r.isolation ? [r.isolation.baseline.peakRssMb, r.isolation.withHung.peakRssMb] : [],
    );
  const maxPeak = peaks.length ? Math.max(...peaks) : null;
  add('peak RSS, any dispatcher run', '< 200 MB', maxPeak, `${fmt(maxPeak, 0)} MB`, (maxPeak ?? Infinity) < 200);
  add(
    `idle RSS (ready, ${r.idle?.endpoints ?? 10} endpoints, no traffic, after ${r.idle?.seconds ?? '?'} s)`,
    '< 100 MB',
    r.idle?.rssMb,
    `${fmt(r.idle?.rssMb, 0)} MB (heap used ${fmt(r.idle?.heapUsedMb, 0)} of ${fmt(r.idle?.heapTotalMb, 0)} MB, external ${fmt(r.idle?.externalMb, 0)} MB)`,
    (r.idle?.rssMb ?? Infinity) < 100,
  );
  const b = r.backlog;
  add(
    'peak RSS independent of backlog (N vs N/4)',
    '≈ 1 (≤ 1.25)',
    b?.peakRatio,
    b ? `${fmt(b.peakRatio, 2)} (${fmt(b.runs[0]?.peakRssMb, 0)} vs ${fmt(b.runs[1]?.peakRssMb, 0)} MB)` : '',
    (b?.peakRatio ?? Infinity) <= 1.25,
  );
  return { ratios, targets };
}
