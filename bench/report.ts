/** The bench's tables and targets, from the results of the scenarios. */
import type { BacklogResult } from './backlog.ts';
import type { IsolationResult } from './isolation.ts';
import { EVENT_BYTES } from './producer.ts';
import type { RawKafkaResult, RawUndiciResult } from './raw.ts';
import type { RetryResult } from './retry-timing.ts';
import { fmt, fmtInt, round, type Summary } from './stats.ts';
import type { ThroughputResult } from './throughput.ts';

export interface Results {
  throughput?: { burst: ThroughputResult[]; paced: ThroughputResult | null };
  raw?: { undici: RawUndiciResult[]; kafka: RawKafkaResult };
  isolation?: IsolationResult;
  retry?: RetryResult;
  backlog?: BacklogResult;
}

export interface Target {
  name: string;
  target: string;
  measured: string;
  value: number | null;
  met: boolean | null;
}

function table(header: string[], rows: string[][], rightFrom = 2): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    '| ' + cells.map((c, i) => (i >= rightFrom ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(' | ') + ' |';
  const sep = '|' + widths.map((w, i) => (i >= rightFrom ? '-'.repeat(w + 1) + ':' : ':' + '-'.repeat(w + 1))).join('|') + '|';
  return [line(header), sep, ...rows.map(line)].join('\n');
}

const lat = (s: Summary | null | undefined, k: 'p50' | 'p95' | 'p99'): string => fmt(s?.[k] ?? null, 1);

function runsTable(r: Results): string {
  const rows: string[][] = [];
  const push = (
    scenario: string,
    run: string,
    o: {
      events?: number;
      deliveries?: number;
      duplicates?: number;
      deferred?: number;
      seconds?: number;
      rate?: number;
      latency?: Summary | null;
      cpuS?: number;
      cpuUs?: number;
      rss?: number;
    },
  ): void => {
    rows.push([
      scenario,
      run,
      fmtInt(o.events),
      fmtInt(o.deliveries),
      fmtInt(o.duplicates),
      fmtInt(o.deferred),
      fmt(o.seconds, 2),
      fmtInt(o.rate),
      lat(o.latency, 'p50'),
      lat(o.latency, 'p95'),
      lat(o.latency, 'p99'),
      fmt(o.cpuS, 1),
      fmtInt(o.cpuUs),
      fmt(o.rss, 0),
    ]);
  };
  for (const t of [...(r.throughput?.burst ?? []), ...(r.throughput?.paced ? [r.throughput.paced] : [])]) {
    const [scenario, run] = t.pacedRate
      ? ['latency', `paced ${fmtInt(t.pacedRate)}/s, 1 endpoint`]
      : ['throughput', `${t.endpoints} endpoint${t.endpoints > 1 ? 's' : ''}`];
    push(scenario, run, {
      events: t.events,
      deliveries: t.deliveries,
      duplicates: t.duplicates,
      deferred: t.deferred,
      seconds: t.seconds,
      rate: t.deliveriesPerS,
      latency: t.latencyMs,
      cpuS: t.cpuS,
      cpuUs: t.cpuUsPerDelivery,
      rss: t.peakRssMb,
    });
  }
  for (const u of r.raw?.undici ?? []) {
    push('raw', `undici, ${u.endpoints} origin${u.endpoints > 1 ? 's' : ''} × ${u.concurrencyPerEndpoint}, signed`, {
      deliveries: u.requests,
      seconds: u.seconds,
      rate: u.requestsPerS,
      cpuS: u.cpuS,
      cpuUs: u.cpuUsPerRequest,
    });
  }
  if (r.raw?.kafka)
    push('raw', 'kafkajs consumer (messages)', {
      events: r.raw.kafka.messages,
      seconds: r.raw.kafka.seconds,
      rate: r.raw.kafka.messagesPerS,
    });
  if (r.isolation) {
    for (const i of [r.isolation.baseline, r.isolation.withHung]) {
      push('isolation', i === r.isolation.baseline ? '9 healthy' : `9 healthy + 1 hung (${fmtInt(i.hungRequests)} hung requests)`, {
        events: i.events,
        deliveries: i.deliveries,
        duplicates: i.duplicates,
        deferred: i.deferred,
        seconds: i.seconds,
        rate: i.deliveriesPerS,
        latency: i.latencyMs,
        cpuS: i.cpuS,
        cpuUs: (i.cpuS * 1e6) / i.deliveries,
        rss: i.peakRssMb,
      });
    }
  }
  for (const b of r.backlog?.runs ?? []) {
    push('backlog', `${fmtInt(b.events)} queued, start ${fmt(b.startS, 1)} s`, {
      events: b.events,
      deliveries: b.deliveries,
      duplicates: b.duplicates,
      deferred: b.deferred,
      seconds: b.drainS,
      rate: b.deliveriesPerS,
      latency: b.latencyMs,
      cpuS: b.cpuS,
      cpuUs: (b.cpuS * 1e6) / b.deliveries,
      rss: b.peakRssMb,
    });
  }
  if (rows.length === 0) return '';
  return table(
    [
      'scenario',
      'run',
      'events',
      'deliveries',
      'dups',
      'deferred',
      'time s',
      'per s',
      'p50 ms',
      'p95 ms',
      'p99 ms',
      'CPU s',
      'CPU µs/deliv',
      'peak RSS MB',
    ],
    rows,
  );
}

function retryTable(r: RetryResult): string {
  const s = (x: Summary | null): string[] => [fmt(x?.min), fmt(x?.p50), fmt(x?.p99), fmt(x?.max)];
  const rows = r.tiers.map((t) => [
    t.tier,
    t.attempt === null ? 'all' : String(t.attempt),
    fmtInt(t.fromLog?.count ?? 0),
    ...s(t.fromLog),
    String(t.earlyFromLog),
    ...s(t.fromReceiver),
    String(t.earlyFromReceiver),
  ]);
  return table(
    [
      'delay',
      'attempt',
      'retries',
      'log min',
      'log p50',
      'log p99',
      'log max',
      'early',
      'recv min',
      'recv p50',
      'recv p99',
      'recv max',
      'early',
    ],
    rows,
  );
}

export function ratiosAndTargets(r: Results): { ratios: Record<string, number | null>; targets: Target[] } {
  const burst = r.throughput?.burst ?? [];
  const one = burst.find((t) => t.endpoints === 1);
  const ten = burst.find((t) => t.endpoints === 10);
  const raw1 = r.raw?.undici.find((u) => u.endpoints === 1);
  const raw10 = r.raw?.undici.find((u) => u.endpoints === 10);
  const ratio = (a: number | undefined, b: number | undefined): number | null => (a && b ? round(a / b, 3) : null);
  const ratios = {
    dispatcher1VsUndici: ratio(one?.deliveriesPerS, raw1?.requestsPerS),
    dispatcher10VsUndici: ratio(ten?.deliveriesPerS, raw10?.requestsPerS),
    dispatcherEventsVsKafkajs: ratio(one?.eventsPerS, r.raw?.kafka.messagesPerS),
    isolation: r.isolation?.ratio ?? null,
    backlogPeakRss: r.backlog?.peakRatio ?? null,
  };
  const targets: Target[] = [];
  const add = (name: string, target: string, value: number | null, measured: string, met: boolean | null): void => {
    targets.push({ name, target, value, measured: value === null ? 'not run' : measured, met: value === null ? null : met });
  };
  add(
    'throughput vs raw undici, 1 endpoint',
    '≥ 0.5',
    ratios.dispatcher1VsUndici,
    `${fmt(ratios.dispatcher1VsUndici, 2)} (${fmtInt(one?.deliveriesPerS)} vs ${fmtInt(raw1?.requestsPerS)}/s)`,
    (ratios.dispatcher1VsUndici ?? 0) >= 0.5,
  );
  add(
    'throughput vs raw undici, 10 endpoints',
    '≥ 0.5',
    ratios.dispatcher10VsUndici,
    `${fmt(ratios.dispatcher10VsUndici, 2)} (${fmtInt(ten?.deliveriesPerS)} vs ${fmtInt(raw10?.requestsPerS)}/s)`,
    (ratios.dispatcher10VsUndici ?? 0) >= 0.5,
  );
  add(
    'events/s vs raw kafkajs consumer (no target)',
    'info',
    ratios.dispatcherEventsVsKafkajs,
    `${fmt(ratios.dispatcherEventsVsKafkajs, 2)} (${fmtInt(one?.eventsPerS)} vs ${fmtInt(r.raw?.kafka.messagesPerS)}/s)`,
    true,
  );
  const paced = r.throughput?.paced;
  add(
    `p99 latency at ${fmtInt(paced?.pacedRate ?? 1000)} events/s`,
    '< 50 ms',
    paced?.latencyMs?.p99 ?? null,
    `${fmt(paced?.latencyMs?.p99)} ms`,
    (paced?.latencyMs?.p99 ?? Infinity) < 50,
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
    all?.fromLog?.p99 ?? null,
    `${fmt(all?.fromLog?.p99)} ms (max ${fmt(all?.fromLog?.max)} ms)`,
    (all?.fromLog?.p99 ?? Infinity) < 1000,
  );
  const peaks = [...burst, ...(paced ? [paced] : [])]
    .map((t) => t.peakRssMb)
    .concat(
      (r.backlog?.runs ?? []).map((b) => b.peakRssMb),
      r.isolation ? [r.isolation.baseline.peakRssMb, r.isolation.withHung.peakRssMb] : [],
    );
  const maxPeak = peaks.length ? Math.max(...peaks) : null;
  add('peak RSS, any run', '< 200 MB', maxPeak, `${fmt(maxPeak, 0)} MB`, (maxPeak ?? Infinity) < 200);
  const b = r.backlog;
  add(
    'peak RSS independent of backlog (N vs N/4)',
    '≈ 1 (≤ 1.25)',
    b?.peakRatio ?? null,
    b ? `${fmt(b.peakRatio, 2)} (${fmt(b.runs[0]?.peakRssMb, 0)} vs ${fmt(b.runs[1]?.peakRssMb, 0)} MB)` : '',
    (b?.peakRatio ?? Infinity) <= 1.25,
  );
  return { ratios, targets };
}

export function report(results: Results, targets: Target[], m: Record<string, unknown>): string {
  const out: string[] = [];
  out.push(
    `dialer-webhooks bench · ${m.startedAt} · ${m.cpu} × ${m.cpus} · Node ${m.node} · commit ${m.commit ?? '?'} · events ${EVENT_BYTES} B`,
  );
  out.push(`command: ${m.command}`);
  const runs = runsTable(results);
  if (runs) out.push('', runs);
  if (results.retry) {
    out.push(
      '',
      `Retry lateness, ms (delays ${results.retry.delaysMs.map((d) => `${d / 1000}s`).join(', ')}; ${fmtInt(results.retry.events)} deliveries failing 3 times; log = started_at − due_at, recv = receiver arrival − (previous arrival + delay))`,
    );
    out.push(retryTable(results.retry));
  }
  out.push(
    '',
    table(
      ['target', 'goal', 'measured', 'met'],
      targets.map((t) => [t.name, t.target, t.measured, t.met === null ? '-' : t.met ? 'yes' : 'NO']),
      99,
    ),
  );
  return out.join('\n');
}
