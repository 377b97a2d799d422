import type { CampaignResult } from './campaign.ts';

const secs = (ms: number | null): string => (ms === null ? '-' : (ms / 1000).toFixed(1));

/** The campaign's table (one row per round, then the totals), as Markdown. */
export function formatReport(result: CampaignResult): string {
  const head = [
    'round',
    'fault',
    'detail',
    'at s',
    'events',
    'pairs',
    'succeeded',
    'dead',
    'lost',
    'not final',
    'dup',
    'resent after success',
    'out of order',
    'lag 0',
    'recover s',
    'settle s',
    'crashes',
    'result',
  ];
  const rows = result.rounds.map((r) => [
    String(r.round),
    r.fault,
    r.detail,
    secs(r.faultAtMs),
    String(r.events),
    String(r.verdict.pairs),
    String(r.verdict.succeeded),
    String(r.verdict.dead),
    String(r.verdict.lost.length),
    String(r.verdict.notFinal.length),
    String(r.verdict.duplicates),
    String(r.verdict.resentAfterSuccess.length),
    String(r.verdict.outOfOrder.length),
    r.lagZero ? 'yes' : 'NO',
    secs(r.recoverMs),
    secs(r.settleMs),
    String(r.crashes),
    r.failures.length === 0 ? 'pass' : 'FAIL',
  ]);
  const sum = (f: (r: CampaignResult['rounds'][number]) => number): string => String(result.rounds.reduce((s, r) => s + f(r), 0));
  rows.push([
    'total',
    `${result.rounds.length} rounds`,
    `seed ${result.seed}`,
    '',
    sum((r) => r.events),
    sum((r) => r.verdict.pairs),
    sum((r) => r.verdict.succeeded),
    sum((r) => r.verdict.dead),
    sum((r) => r.verdict.lost.length),
    sum((r) => r.verdict.notFinal.length),
    sum((r) => r.verdict.duplicates),
    sum((r) => r.verdict.resentAfterSuccess.length),
    sum((r) => r.verdict.outOfOrder.length),
    result.rounds.every((r) => r.lagZero) ? 'yes' : 'NO',
    '',
    '',
    sum((r) => r.crashes),
    result.passed ? 'PASS' : 'FAIL',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  const out = [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)];
  for (const r of result.rounds) {
    for (const f of r.failures) out.push(`round ${r.round} (${r.fault}): FAILED: ${f}`);
    for (const n of r.notes) out.push(`round ${r.round} (${r.fault}): note: ${n}`);
  }
  return out.join('\n');
}
