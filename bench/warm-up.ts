/**
 * The warm-up before a paced latency run: the same rate to the same endpoint(s) for a few
 * seconds, all delivered, then the receiver's statistics cleared, so the measured run sees a
 * dispatcher at its steady state. A process that has just started runs its code unoptimized, opens
 * its Postgres and HTTP connections, grows its heap and its endpoint's slow-start window; at 1,000
 * events/s on the shared 2-core box that built a backlog of about a second, which was most of the
 * paced p99. A real dispatcher runs for days, so the target is the steady state; the warm-up's own
 * latency is kept in the JSON (`warmUp`), so the cold start is still reported.
 */
import type { Producer } from 'kafkajs';
import { watchDeliveries, type BenchContext, type DispatcherRun } from './harness.ts';
import { producePaced } from './producer.ts';
import type { Summary } from './stats.ts';

/** A paced latency run: `rate` events/s for `seconds`, after `warmupSeconds` of warm-up at that rate. */
export interface PacedOptions {
  rate: number;
  seconds: number;
  warmupSeconds: number;
}

export interface WarmUpResult {
  seconds: number;
  events: number;
  /** 2xx answers the receiver counted in the warm-up (all cleared from the measured run's counts). */
  deliveries: number;
  /** Produced → received of the warm-up's events, ms (the cold start). */
  latencyMs: Summary | null;
}

export interface WarmUpOptions {
  label: string;
  producer: Producer;
  topic: string;
  /** Event-id prefix of the run: the warm-up's events get their own (`<tag>-warm`), so their ids never repeat a measured one. */
  tag: string;
  paths: readonly string[];
  rate: number;
  seconds: number;
  /** The dispatcher run, to fail at once if it exits; null for another process (the hand-rolled one). */
  run: DispatcherRun | null;
}

/** Runs the warm-up (nothing when `seconds` is 0) and clears the receiver's statistics after it. */
export async function warmUp(ctx: BenchContext, o: WarmUpOptions): Promise<WarmUpResult | null> {
  if (o.seconds <= 0) return null;
  const label = `${o.label} warm-up`;
  let produced = 0;
  let produceError: unknown = null;
  const producing = producePaced(o.producer, o.topic, `${o.tag}-warm`, o.rate, o.seconds, (n) => (produced = n));
  producing.catch((err: unknown) => (produceError = err)); // awaited below; a failure ends the wait
  const events = Math.round(o.rate * o.seconds);
  await watchDeliveries(ctx, o.run, {
    label,
    paths: o.paths,
    expected: events * o.paths.length,
    produced: () => produced,
    producedOf: events,
    produceError: () => produceError,
  });
  const result = await producing;
  const { groups } = await ctx.receiver.stats({ all: [...o.paths] });
  await ctx.receiver.clearStats();
  return { seconds: result.seconds, events, deliveries: groups.all?.ok ?? 0, latencyMs: groups.all?.latencyMs ?? null };
}
