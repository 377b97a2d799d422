/** The bench's tables and targets, from the results of the scenarios. */
import { boxTable } from './box-report.ts';
import { EVENT_BYTES } from './producer.ts';
import type { RetryResult } from './retry-timing.ts';
import { fmt, fmtInt, type Summary } from './stats.ts';
import type { Results, Target } from './targets.ts';

export { ratiosAndTargets, type Results, type Target } from './targets.ts';

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
      fmt(o.cpuS, 2),
      fmtInt(o.cpuUs),
      fmt(o.rss, 0),
    ]);
  };
  if (r.idle) {
    push('idle', `ready, ${r.idle.endpoints} endpoints, no traffic, ${r.idle.seconds} s (RSS now)`, {
      cpuS: r.idle.cpuS,
      rss: r.idle.rssMb,
    });
  }
  for (const t of [...(r.throughput?.burst ?? []), ...(r.throughput?.paced ?? [])]) {
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
  for (const h of [...(r.handRolled?.burst ?? []), ...(r.handRolled?.paced ? [r.handRolled.paced] : [])]) {
    const run = h.pacedRate ? `paced ${fmtInt(h.pacedRate)}/s, 1 endpoint` : `${h.endpoints} endpoint${h.endpoints > 1 ? 's' : ''}`;
    push('hand-rolled', run, {
      events: h.events,
      deliveries: h.deliveries,
      duplicates: h.duplicates,
      seconds: h.seconds,
      rate: h.deliveriesPerS,
      latency: h.latencyMs,
      cpuS: h.cpuS,
      cpuUs: h.cpuUsPerDelivery,
      rss: h.peakRssMb,
    });
  }
  for (const s of r.scaleOut?.runs ?? []) {
    push('scale-out', `${s.processes} process${s.processes > 1 ? 'es' : ''}, 10 endpoints, 6 partitions`, {
      events: s.events,
      deliveries: s.deliveries,
      duplicates: s.duplicates,
      seconds: s.seconds,
      rate: s.deliveriesPerS,
      latency: s.latencyMs,
      cpuS: s.cpuS,
      cpuUs: (s.cpuS * 1e6) / s.deliveries,
      rss: s.peakRssMb,
    });
  }
  if (r.isolation) {
    for (const i of [r.isolation.baseline, r.isolation.withHung]) {
      push(
        'isolation',
        i === r.isolation.baseline
          ? '9 healthy'
          : `9 healthy + 1 hung (${fmtInt(i.hungRequests)} hung requests, ${fmtInt(i.stalledAttempts)} stalled)`,
        {
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
        },
      );
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

export function report(results: Results, targets: Target[], m: Record<string, unknown>): string {
  const out: string[] = [];
  out.push(
    `dialer-webhooks bench · ${m.startedAt} · ${m.cpu} × ${m.cpus} · Node ${m.node} · commit ${m.commit ?? '?'} · events ${EVENT_BYTES} B`,
  );
  out.push(`command: ${m.command}`);
  const runs = runsTable(results);
  if (runs) out.push('', runs);
  const box = boxTable(results, (header, rows) => table(header, rows));
  if (box) out.push('', box);
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
      targets.map((t) => [
        t.name,
        t.target,
        t.measured,
        t.met === null ? (t.target === 'info' && t.value !== null ? 'info' : '-') : t.met ? 'yes' : 'NO',
      ]),
      99,
    ),
  );
  return out.join('\n');
}
