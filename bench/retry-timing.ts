/**
 * Scenario 4, retry timing: one endpoint answers 500 to the first three attempts of every
 * delivery, so each delivery goes through every delay topic. For each retry, how late it fired
 * versus its due time, from two independent sources:
 * - the delivery log: `webhooks.attempts.started_at − due_at` (the dispatcher's own clock);
 * - the receiver: arrival of attempt k+1 − (arrival of attempt k + the delay). This counts the
 *   time between the receiver answering and the dispatcher scheduling the retry as lateness too,
 *   so it is an upper bound; a negative value would prove a retry early.
 */
import { sql } from 'kysely';
import { DispatcherRun, watchDeliveries, type BenchContext } from './harness.ts';
import { producePaced } from './producer.ts';
import { round, summarize, type Summary } from './stats.ts';

export interface LatenessStats {
  /** Label of the delay, e.g. `1s` (attempt 2), or `all`. */
  tier: string;
  attempt: number | null;
  /** Lateness, ms; `early` counts retries that fired before their due time. */
  fromLog: Summary | null;
  earlyFromLog: number;
  fromReceiver: Summary | null;
  earlyFromReceiver: number;
}

export interface RetryResult {
  delaysMs: number[];
  events: number;
  /** Deliveries that succeeded on their fourth attempt (receiver). */
  succeeded: number;
  attemptsLogged: number;
  tiers: LatenessStats[];
}

const label = (ms: number): string => (ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`);

export async function runRetryTiming(ctx: BenchContext, o: { events: number; delaysMs: number[] }): Promise<RetryResult> {
  const run = await DispatcherRun.setup(ctx, 'retry', [{ path: '/flaky', behaviour: { kind: 'failFirst', n: o.delaysMs.length } }], {
    RETRY_DELAYS: o.delaysMs.map(label).join(','),
  });
  try {
    await run.start();
    let produced = 0;
    const rate = 200;
    const producing = producePaced(ctx.kafka.producer, run.topic, run.label, rate, o.events / rate, (n) => (produced = n));
    producing.catch(() => {});
    const maxDelay = Math.max(...o.delaysMs);
    await watchDeliveries(ctx, run, {
      label: `retry ${o.delaysMs.map(label).join('/')}`,
      paths: ['/flaky'],
      expected: o.events,
      produced: () => produced,
      producedOf: o.events,
      stallMs: maxDelay + 60_000,
    });
    await producing;
    const attemptsExpected = o.events * (o.delaysMs.length + 1);
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const total = await sql<{ n: number }>`select count(*)::int as n from webhooks.attempts`.execute(run.db.db);
      if (total.rows[0]!.n >= attemptsExpected) break;
      await new Promise((res) => setTimeout(res, 200));
    }
    // Read after the wait, so the rows are as complete as the count that ended it.
    const rows = (
      await sql<{ attempt: number; late_ms: number }>`
        select attempt, (extract(epoch from (started_at - due_at)) * 1000)::float8 as late_ms
          from webhooks.attempts where attempt > 1 and due_at is not null`.execute(run.db.db)
    ).rows;
    const arrivals = await ctx.receiver.arrivals('/flaky');
    const attemptsLogged = (await sql<{ n: number }>`select count(*)::int as n from webhooks.attempts`.execute(run.db.db)).rows[0]!.n;

    const tiers: LatenessStats[] = [];
    const allLog: number[] = [];
    const allRecv: number[] = [];
    for (let k = 0; k < o.delaysMs.length; k++) {
      const attempt = k + 2;
      const fromLog = rows.filter((r) => r.attempt === attempt).map((r) => r.late_ms);
      const fromRecv: number[] = [];
      for (const times of Object.values(arrivals)) {
        if (times.length > k + 1) fromRecv.push(times[k + 1]! - times[k]! - o.delaysMs[k]!);
      }
      allLog.push(...fromLog);
      allRecv.push(...fromRecv);
      tiers.push(stats(label(o.delaysMs[k]!), attempt, fromLog, fromRecv));
    }
    tiers.push(stats('all', null, allLog, allRecv));
    const succeeded = Object.values(arrivals).filter((t) => t.length > o.delaysMs.length).length;
    return { delaysMs: o.delaysMs, events: o.events, succeeded, attemptsLogged, tiers };
  } finally {
    await run.cleanup();
  }
}

function stats(tier: string, attempt: number | null, fromLog: number[], fromRecv: number[]): LatenessStats {
  const r = (s: Summary | null): Summary | null =>
    s && {
      count: s.count,
      min: round(s.min, 1),
      p50: round(s.p50, 1),
      p95: round(s.p95, 1),
      p99: round(s.p99, 1),
      max: round(s.max, 1),
      mean: round(s.mean, 1),
    };
  return {
    tier,
    attempt,
    fromLog: r(summarize(fromLog)),
    earlyFromLog: fromLog.filter((v) => v < 0).length,
    fromReceiver: r(summarize(fromRecv)),
    earlyFromReceiver: fromRecv.filter((v) => v < 0).length,
  };
}
