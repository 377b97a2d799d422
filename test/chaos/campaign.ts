import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitFor } from '../support/wait-for.ts';
import { faultPlan, injectFault, type FaultName } from './faults.ts';
import { checkRound, violations, type DeliveryRow, type RoundVerdict } from './invariants.ts';
import type { Reception } from './receivers.ts';
import { Prng } from './prng.ts';
import { ChaosStack, INPUT_TOPIC, ORDERED_ENDPOINTS, STOP_GRACE_MS } from './stack.ts';

export interface CampaignOptions {
  rounds: number;
  seed: number;
  /** Faults to cycle through (seeded order); default all. */
  faults?: readonly FaultName[];
  /** Events produced per second while a round runs. Default 8. */
  ratePerSecond?: number;
  log?: (line: string) => void;
  /** Longest wait, after the last event, for every pair to be final. Default 150 s. */
  settleTimeoutMs?: number;
}

export interface RoundResult {
  round: number;
  fault: FaultName;
  detail: string;
  /** When the fault hit, ms after the round's first event. */
  faultAtMs: number;
  events: number;
  verdict: RoundVerdict;
  lagZero: boolean;
  /** From the fault's end to the first 2xx at the healthy endpoint for an event produced after it. */
  recoverMs: number | null;
  /** From the last event produced to every pair final and both groups committed to the end. */
  settleMs: number | null;
  /** Member exits nobody asked for (restarted by the supervisor). */
  crashes: number;
  failures: string[];
  notes: string[];
}

export interface CampaignResult {
  seed: number;
  rounds: RoundResult[];
  passed: boolean;
  dir: string;
}

const LAG_TIMEOUT_MS = 60_000;
/** Events per call: the Kafka key, so the per-key endpoint has several events a key to order. */
const EVENTS_PER_KEY = 4;

/** The event's Kafka key: its call, as the dialer keys events (four consecutive events a call). */
const keyOf = (prefix: string, n: number): string => `${prefix}call-${Math.floor(n / EVENTS_PER_KEY)}`;

function eventValue(id: string, n: number): string {
  return JSON.stringify({
    event: 'call.ended',
    timestamp: new Date().toISOString(),
    data: { call_id: id, agent: `agent-${n % 7}`, duration: n % 600, disposition: 'SALE', campaign: 'chaos' },
  });
}

/**
 * Produces `rate` events a second (ids `<prefix><n>`, each with an `event-id` header, keyed by
 * call: see keyOf) until
 * `stop()` is called; a batch the broker refused is sent again, same ids, until acknowledged.
 */
function startProducing(stack: ChaosStack, prefix: string, rate: number) {
  const producedAt = new Map<string, number>();
  // One producer awaiting each batch: within a key (one partition) production order is offset order.
  const keys = new Map<string, string>();
  let stopping = false;
  const started = Date.now();
  const done = (async () => {
    let sent = 0;
    for (;;) {
      const due = Math.floor(((Date.now() - started) / 1000) * rate);
      if (due > sent) {
        const batch = Array.from({ length: due - sent }, (_, i) => sent + i);
        const now = Date.now();
        const messages = batch.map((n) => ({
          key: keyOf(prefix, n),
          value: eventValue(`${prefix}${n}`, n),
          headers: { 'event-id': `${prefix}${n}` },
        }));
        for (;;) {
          try {
            await stack.producer.send({ topic: INPUT_TOPIC, acks: -1, messages });
            break;
          } catch {
            await sleep(500); // the broker is frozen or restarting: same events again
          }
        }
        for (const n of batch) {
          producedAt.set(`${prefix}${n}`, now);
          keys.set(`${prefix}${n}`, keyOf(prefix, n));
        }
        sent = due;
      }
      if (stopping) return;
      await sleep(250);
    }
  })();
  return {
    started,
    producedAt,
    keys,
    async stop(): Promise<void> {
      stopping = true;
      await done;
    },
  };
}

async function roundRows(stack: ChaosStack, prefix: string): Promise<{ deliveries: DeliveryRow[]; successes: Map<string, number> }> {
  const d = await stack.pool.query<{ id: string; event_id: string; endpoint: string; status: string }>(
    `select d.id, d.event_id, e.name as endpoint, d.status from webhooks.deliveries d
       join webhooks.endpoints e on e.id = d.endpoint_id where d.event_id like $1`,
    [`${prefix}%`],
  );
  const s = await stack.pool.query<{ delivery_id: string; recorded_at: Date }>(
    `select s.delivery_id, s.recorded_at from chaos.successes s
       join webhooks.deliveries d on d.id = s.delivery_id where d.event_id like $1`,
    [`${prefix}%`],
  );
  return {
    deliveries: d.rows.map((r) => ({ id: r.id, eventId: r.event_id, endpoint: r.endpoint, status: r.status })),
    successes: new Map(s.rows.map((r) => [r.delivery_id, r.recorded_at.getTime()])),
  };
}

async function runRound(
  stack: ChaosStack,
  round: number,
  fault: FaultName,
  rng: Prng,
  options: { rate: number; settleTimeoutMs: number },
): Promise<RoundResult> {
  const rate = options.rate;
  const prefix = `r${round}-`;
  const endpoints = stack.receivers.map((r) => r.kind);
  const exitsBefore = stack.members.reduce((s, m) => s + m.unexpectedExits, 0);
  const producing = startProducing(stack, prefix, rate);
  const faultAtMs = rng.int(3000, 8000);
  await sleep(faultAtMs);
  const joinedBefore = new Set(stack.members);
  const outcome = await injectFault(fault, {
    rng,
    kafka: stack.kafka,
    postgres: stack.postgres,
    members: stack.members,
    addMember: () => stack.addMember(),
    receivers: stack.receivers,
    stopGraceMs: STOP_GRACE_MS,
  });
  // Keep producing a little after the fault, so recovery is seen on fresh events.
  await sleep(Math.max(outcome.clearedAt + 5000, producing.started + 12_000) - Date.now());
  await producing.stop();
  const producedEnd = Date.now();
  const eventIds = [...producing.producedAt.keys()];
  const pairs = eventIds.length * endpoints.length;
  let settleMs: number | null = null;
  let lagZero: boolean;
  try {
    await waitFor(
      async () => {
        const r = await stack.pool.query<{ n: number }>(
          `select count(*)::int as n from webhooks.deliveries where event_id like $1 and status in ('succeeded', 'dead')`,
          [`${prefix}%`],
        );
        return r.rows[0]!.n >= pairs;
      },
      { timeoutMs: options.settleTimeoutMs, intervalMs: 1000, what: 'every pair final' },
    );
    await waitFor(async () => (await stack.lag()) === 0, { timeoutMs: LAG_TIMEOUT_MS, intervalMs: 1000, what: 'lag 0' });
    lagZero = true;
    settleMs = Date.now() - producedEnd;
  } catch {
    // Reported by the checks below, with what is missing.
    lagZero = await stack.lag().then(
      (n) => n === 0,
      () => false,
    );
  }
  const { deliveries, successes } = await roundRows(stack, prefix);
  const receptions = stack.receivers.flatMap((r) => r.log.filter((x) => x.eventId.startsWith(prefix)));
  const verdict = checkRound({
    eventIds,
    endpoints,
    receptions,
    deliveries,
    successRecordedAt: successes,
    orderedEndpoints: ORDERED_ENDPOINTS,
    eventKeys: producing.keys,
  });
  const fresh = receptions.filter(
    (r) => r.endpoint === 'healthy' && r.status === 200 && (producing.producedAt.get(r.eventId) ?? 0) >= outcome.clearedAt,
  );
  const failures = violations(verdict, lagZero);
  if (failures.length > 0) await writeEvidence(stack, round, verdict, receptions, deliveries, successes);
  const recoverMs = fresh.length > 0 ? Math.min(...fresh.map((r) => r.at)) - outcome.clearedAt : null;

  // Back to the three members for the next round, all ready.
  for (const m of stack.members.filter((x) => !joinedBefore.has(x))) await stack.removeMember(m);
  const notes = outcome.note ? [outcome.note] : [];
  if (verdict.deadAfter2xx.length > 0) notes.push(`${verdict.deadAfter2xx.length} pairs dead although answered 2xx`);
  await stack.allReady(120_000).catch(async () => {
    for (const m of stack.members) {
      if (!(await m.ready())) notes.push(`${m.name} not ready again within 120 s: ${await m.readiness()}`);
    }
  });
  return {
    round,
    fault,
    detail: outcome.detail,
    faultAtMs,
    events: eventIds.length,
    verdict,
    lagZero,
    recoverMs,
    settleMs,
    crashes: stack.members.reduce((s, m) => s + m.unexpectedExits, 0) - exitsBefore,
    failures,
    notes,
  };
}

/** For a failed round: the receptions and rows of the pairs that failed, beside the members' logs. */
async function writeEvidence(
  stack: ChaosStack,
  round: number,
  verdict: RoundVerdict,
  receptions: readonly Reception[],
  deliveries: readonly DeliveryRow[],
  successes: ReadonlyMap<string, number>,
): Promise<void> {
  const keys = new Set([
    ...verdict.lost,
    ...verdict.notFinal.map((k) => k.replace(/ \(.*\)$/, '')),
    ...verdict.successWithout2xx,
    ...verdict.resentAfterSuccess.map((r) => `${r.eventId} → ${r.endpoint}`),
    ...verdict.outOfOrder.flatMap((b) => [`${b.earlier} → ${b.endpoint}`, `${b.later} → ${b.endpoint}`]),
  ]);
  const pick = <T extends { eventId: string; endpoint: string }>(xs: readonly T[]): T[] =>
    xs.filter((x) => keys.has(`${x.eventId} → ${x.endpoint}`));
  const rows = pick(deliveries).map((d) => ({
    ...d,
    successRecordedAt: successes.has(d.id) ? new Date(successes.get(d.id)!).toISOString() : null,
  }));
  const got = pick(receptions).map((r) => ({ ...r, at: new Date(r.at).toISOString() }));
  await writeFile(
    path.join(stack.dir, `round-${round}-evidence.json`),
    JSON.stringify({ pairs: [...keys], deliveries: rows, receptions: got }, null, 2),
  );
}

export async function runCampaign(options: CampaignOptions): Promise<CampaignResult> {
  const log = options.log ?? (() => {});
  const rng = new Prng(options.seed);
  const plan = faultPlan(rng, options.rounds, options.faults);
  const stack = await ChaosStack.open(log);
  const rounds: RoundResult[] = [];
  let passed = false;
  try {
    for (let i = 0; i < plan.length; i++) {
      log(`chaos: round ${i + 1}/${plan.length}: ${plan[i]}`);
      const r = await runRound(stack, i + 1, plan[i]!, rng, {
        rate: options.ratePerSecond ?? 8,
        settleTimeoutMs: options.settleTimeoutMs ?? 150_000,
      });
      rounds.push(r);
      log(
        `chaos: round ${r.round} ${r.fault} (${r.detail}): ${r.events} events, ${r.verdict.duplicates} duplicates, ` +
          `${r.failures.length === 0 ? 'ok' : `FAILED: ${r.failures.join('; ')}`}`,
      );
    }
    passed = rounds.every((r) => r.failures.length === 0);
  } finally {
    await stack.close(!passed);
  }
  return { seed: options.seed, rounds, passed, dir: stack.dir };
}
