import { checkKeyOrder, type OrderBreach } from './key-order-check.ts';
import type { Reception } from './receivers.ts';

/** A webhooks.deliveries row, as much of it as the checks need. */
export interface DeliveryRow {
  id: string;
  eventId: string;
  endpoint: string;
  status: string;
}

export interface RoundEvidence {
  eventIds: readonly string[];
  endpoints: readonly string[];
  /** Every request the endpoints logged for this round's events. */
  receptions: readonly Reception[];
  /** This round's rows of webhooks.deliveries. */
  deliveries: readonly DeliveryRow[];
  /** Delivery id → when its success was first recorded (ms since the epoch). */
  successRecordedAt: ReadonlyMap<string, number>;
  /** Endpoints with `ordering = 'per_key'`, checked for order too. */
  orderedEndpoints?: readonly string[];
  /** Event id → Kafka key, in production (so offset) order; needed with `orderedEndpoints`. */
  eventKeys?: ReadonlyMap<string, string>;
}

export interface RoundVerdict {
  pairs: number;
  succeeded: number;
  dead: number;
  /** Pairs without any row in the delivery log. */
  lost: string[];
  /** Pairs whose rows are not all succeeded or dead. */
  notFinal: string[];
  /** Requests received after their delivery's success was recorded. */
  resentAfterSuccess: Reception[];
  /** 2xx answers beyond the first per pair (allowed before a recorded success, e.g. after a crash). */
  duplicates: number;
  /** Pairs recorded as succeeded although their endpoint never answered 2xx. */
  successWithout2xx: string[];
  /** Pairs recorded as dead although their endpoint answered 2xx (reported, not an invariant). */
  deadAfter2xx: string[];
  /** Per-key endpoints: a later event of a key sent before an earlier one had settled. */
  outOfOrder: OrderBreach[];
  requests: number;
}

const FINAL = new Set(['succeeded', 'dead']);

/** The campaign's invariants over one round's evidence: pure, so they are unit-tested. */
export function checkRound(e: RoundEvidence): RoundVerdict {
  const rows = new Map<string, DeliveryRow[]>();
  for (const d of e.deliveries) {
    const key = `${d.eventId} → ${d.endpoint}`;
    rows.set(key, [...(rows.get(key) ?? []), d]);
  }
  const ok2xx = new Map<string, number>();
  for (const r of e.receptions) {
    if (r.status !== null && r.status >= 200 && r.status < 300) {
      const key = `${r.eventId} → ${r.endpoint}`;
      ok2xx.set(key, (ok2xx.get(key) ?? 0) + 1);
    }
  }
  const v: RoundVerdict = {
    pairs: 0,
    succeeded: 0,
    dead: 0,
    lost: [],
    notFinal: [],
    resentAfterSuccess: [],
    duplicates: 0,
    successWithout2xx: [],
    deadAfter2xx: [],
    outOfOrder: [],
    requests: e.receptions.length,
  };
  const ordered = new Set(e.orderedEndpoints ?? []);
  const outcomes = new Map<string, Map<string, string>>([...ordered].map((n) => [n, new Map()]));
  for (const eventId of e.eventIds) {
    for (const endpoint of e.endpoints) {
      const key = `${eventId} → ${endpoint}`;
      v.pairs++;
      const found = rows.get(key) ?? [];
      const answered = ok2xx.get(key) ?? 0;
      v.duplicates += Math.max(0, answered - 1);
      if (found.length === 0) {
        v.lost.push(key);
        continue;
      }
      if (!found.every((d) => FINAL.has(d.status))) {
        v.notFinal.push(`${key} (${found.map((d) => d.status).join(', ')})`);
        continue;
      }
      if (found.some((d) => d.status === 'succeeded')) {
        v.succeeded++;
        outcomes.get(endpoint)?.set(eventId, 'succeeded');
        if (answered === 0) v.successWithout2xx.push(key);
      } else {
        v.dead++;
        outcomes.get(endpoint)?.set(eventId, 'dead');
        if (answered > 0) v.deadAfter2xx.push(key);
      }
    }
  }
  for (const [endpoint, byEvent] of outcomes) {
    const eventKeys = e.eventKeys ?? new Map<string, string>();
    v.outOfOrder.push(...checkKeyOrder({ endpoint, eventKeys, receptions: e.receptions, outcomes: byEvent }));
  }
  for (const r of e.receptions) {
    const recorded = e.successRecordedAt.get(r.webhookId);
    // `at` is floored to the ms and taken after the request was read, so the request that
    // succeeded always has at <= recorded; only a later request can be strictly after it.
    if (recorded !== undefined && r.at > recorded) v.resentAfterSuccess.push(r);
  }
  return v;
}

/** The failed invariants, as sentences; empty when the round passed. */
export function violations(v: RoundVerdict, lagZero: boolean): string[] {
  const out: string[] = [];
  if (v.lost.length > 0) out.push(`${v.lost.length} pairs lost (no delivery row), e.g. ${v.lost.slice(0, 3).join('; ')}`);
  if (v.notFinal.length > 0) out.push(`${v.notFinal.length} pairs not final, e.g. ${v.notFinal.slice(0, 3).join('; ')}`);
  if (v.resentAfterSuccess.length > 0) {
    const r = v.resentAfterSuccess[0]!;
    out.push(`${v.resentAfterSuccess.length} requests after a recorded success, e.g. ${r.eventId} → ${r.endpoint} (${r.webhookId})`);
  }
  if (v.successWithout2xx.length > 0) out.push(`${v.successWithout2xx.length} successes without a 2xx, e.g. ${v.successWithout2xx[0]}`);
  if (v.outOfOrder.length > 0) {
    const b = v.outOfOrder[0]!;
    out.push(
      `${v.outOfOrder.length} per-key requests out of order, e.g. ${b.later} → ${b.endpoint} before ${b.earlier} (key ${b.key}) had settled`,
    );
  }
  if (!lagZero) out.push('a consumer group did not commit to the end (lag > 0)');
  return out;
}
