/** The box table of the report: what one delivery cost each process of the machine, by run. */
import type { BoxCpu } from './box-cpu.ts';
import { fmt, fmtInt } from './stats.ts';
import type { Results } from './targets.ts';

/** Every run that has a box accounting, as [scenario, run, accounting], in the report's order. */
export function boxRuns(r: Results): Array<[string, string, BoxCpu]> {
  const out: Array<[string, string, BoxCpu]> = [];
  const s = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;
  for (const t of [...(r.throughput?.burst ?? []), ...(r.throughput?.paced ?? [])])
    out.push(
      t.pacedRate ? ['latency', `paced ${fmtInt(t.pacedRate)}/s, 1 endpoint`, t.box] : ['throughput', s(t.endpoints, 'endpoint'), t.box],
    );
  for (const u of r.raw?.undici ?? [])
    out.push(['raw', `undici, ${s(u.endpoints, 'origin')} × ${u.concurrencyPerEndpoint}, signed`, u.box]);
  for (const h of [...(r.handRolled?.burst ?? []), ...(r.handRolled?.paced ? [r.handRolled.paced] : [])])
    out.push(['hand-rolled', h.pacedRate ? `paced ${fmtInt(h.pacedRate)}/s, 1 endpoint` : s(h.endpoints, 'endpoint'), h.box]);
  for (const x of r.scaleOut?.runs ?? []) out.push(['scale-out', `${s(x.processes, 'process', 'processes')}, 10 endpoints`, x.box]);
  if (r.isolation) {
    out.push(['isolation', '9 healthy', r.isolation.baseline.box]);
    out.push(['isolation', '9 healthy + 1 hung', r.isolation.withHung.box]);
  }
  return out.filter((e) => e[2] !== undefined);
}

/** The table, or '' when no run has one; `render` is the report's table renderer. */
export function boxTable(r: Results, render: (header: string[], rows: string[][]) => string): string {
  const runs = boxRuns(r);
  if (runs.length === 0) return '';
  const us = (v: number | null): string => fmt(v, 1);
  const rows = runs.map(([scenario, run, b]) => [
    scenario,
    run,
    fmtInt(b.deliveries),
    fmt(b.seconds, 2),
    us(b.usPerDelivery.service),
    us(b.usPerDelivery.postgres),
    us(b.usPerDelivery.broker),
    us(b.usPerDelivery.receiver),
    us(b.usPerDelivery.driver),
    us(b.usPerDelivery.box),
    us(b.usPerDelivery.other),
    us(b.usPerDelivery.machineBusy),
    b.machineBusyShare === null ? '-' : `${fmt(b.machineBusyShare * 100, 0)} %`,
    fmtInt(b.boxAllowsPerS),
    fmt(b.coresLeft, 2),
    fmtInt(b.leftAllowsPerS),
  ]);
  const absent = runs.flatMap(([scenario, run, b]) =>
    Object.entries(b.absent).map(([part, why]) => `  ${scenario}, ${run}: ${part} not read: ${why}`),
  );
  const head =
    "Box accounting, CPU µs per delivery by process over each run's measured interval (service = the dispatcher(s) or the hand-rolled process; " +
    'box = the counted processes; other = machine busy − box; "-" = not part of the run or not read)';
  const uniqueAbsent = [...new Set(absent)];
  return [
    head,
    render(
      [
        'scenario',
        'run',
        'deliveries',
        'time s',
        'service',
        'Postgres',
        'broker',
        'receiver',
        'driver',
        'box',
        'other',
        'machine busy',
        'busy',
        'box allows /s',
        'cores left',
        'left allows /s',
      ],
      rows,
    ),
    ...(uniqueAbsent.length ? ['not read:', ...uniqueAbsent] : []),
  ].join('\n');
}
