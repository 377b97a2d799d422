import { setTimeout as sleep } from 'node:timers/promises';
import type { Member } from './members.ts';
import type { Prng } from './prng.ts';
import type { PrivateKafka } from './private-kafka.ts';
import type { PrivatePostgres } from './private-postgres.ts';
import type { ChaosReceiver } from './receivers.ts';

export const FAULTS = [
  'member-sigkill',
  'member-sigterm',
  'member-join',
  'postgres-stop',
  'broker-freeze',
  'broker-kill',
  'receiver-gone',
] as const;
export type FaultName = (typeof FAULTS)[number];

/** The seeded order of faults: each fault once per cycle, cycles shuffled anew. */
export function faultPlan(rng: Prng, rounds: number, faults: readonly FaultName[] = FAULTS): FaultName[] {
  const plan: FaultName[] = [];
  while (plan.length < rounds) plan.push(...rng.shuffle(faults));
  return plan.slice(0, rounds);
}

export function isFault(name: string): name is FaultName {
  return (FAULTS as readonly string[]).includes(name);
}

export interface FaultContext {
  rng: Prng;
  kafka: PrivateKafka;
  postgres: PrivatePostgres;
  members: readonly Member[];
  /** Starts one more member; it stays in the group until the round ends. */
  addMember(): Promise<Member>;
  receivers: readonly ChaosReceiver[];
  /** Bound on a member's graceful stop before it is killed (SHUTDOWN_TIMEOUT_MS + margin). */
  stopGraceMs: number;
}

export interface FaultOutcome {
  detail: string;
  /** When the fault was over: member restarted, service back, receiver listening again. */
  clearedAt: number;
  /** Something worth reporting that is not an invariant (e.g. a SIGTERM that did not exit 0). */
  note?: string;
}

const secs = (ms: number): string => `${(ms / 1000).toFixed(1)}s`;

/** Injects one fault and returns once it is over. */
export async function injectFault(name: FaultName, ctx: FaultContext): Promise<FaultOutcome> {
  const { rng } = ctx;
  switch (name) {
    case 'member-sigkill': {
      const m = rng.pick(ctx.members);
      await m.stop('SIGKILL');
      await m.start();
      return { detail: m.name, clearedAt: Date.now() };
    }
    case 'member-sigterm': {
      const m = rng.pick(ctx.members);
      const exit = await m.stop('SIGTERM', ctx.stopGraceMs);
      await m.start();
      const how = exit.code === 0 ? `exit 0 in ${secs(exit.ms)}` : `exit ${exit.code ?? exit.signal} after ${secs(exit.ms)}`;
      return {
        detail: `${m.name}, ${how}`,
        clearedAt: Date.now(),
        ...(exit.code === 0 ? {} : { note: `${m.name} did not stop cleanly on SIGTERM: ${how}` }),
      };
    }
    case 'member-join': {
      const m = await ctx.addMember();
      return { detail: m.name, clearedAt: Date.now() };
    }
    case 'postgres-stop': {
      const ms = rng.int(5000, 15_000);
      await ctx.postgres.halt();
      await sleep(ms);
      await ctx.postgres.resume();
      return { detail: `down ${secs(ms)}`, clearedAt: Date.now() };
    }
    case 'broker-freeze': {
      const ms = rng.int(5000, 15_000);
      ctx.kafka.freeze();
      await sleep(ms);
      ctx.kafka.thaw();
      return { detail: `SIGSTOP ${secs(ms)}`, clearedAt: Date.now() };
    }
    case 'broker-kill': {
      const started = Date.now();
      await ctx.kafka.crashAndRestart();
      return { detail: `SIGKILL, back in ${secs(Date.now() - started)}`, clearedAt: Date.now() };
    }
    case 'receiver-gone': {
      const r = rng.pick(ctx.receivers.filter((x) => x.kind !== 'hang'));
      const ms = rng.int(5000, 12_000);
      await r.close();
      await sleep(ms);
      await r.listen();
      return { detail: `${r.kind} ${secs(ms)}`, clearedAt: Date.now() };
    }
  }
}
