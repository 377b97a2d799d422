import type { Reception } from './receivers.ts';

/** A request of a later event of a key that reached the endpoint before an earlier event had settled. */
export interface OrderBreach {
  endpoint: string;
  key: string;
  /** The earlier event (by offset) that had not settled yet. */
  earlier: string;
  /** The later event whose first request came too soon. */
  later: string;
}

export interface KeyOrderEvidence {
  endpoint: string;
  /** Event id → Kafka key, in the order the events were produced (their offset order within a key). */
  eventKeys: ReadonlyMap<string, string>;
  /** Every request logged for the round, each endpoint's in arrival order. */
  receptions: readonly Reception[];
  /** Event id → final outcome of its pair at `endpoint` ('succeeded' | 'dead'); others are skipped. */
  outcomes: ReadonlyMap<string, string>;
}

/**
 * What per-key ordering promises, checked from the endpoint's own log: the first request of an
 * event comes only after every earlier event of its key (by offset) has settled, as the endpoint
 * saw it: after its first 2xx when it succeeded, after its last request when it went dead (a dead
 * head releases the next). So the first 2xx of the succeeded events of a key come in offset order.
 * Copies of an earlier event sent again before its success was recorded do not count (they are
 * outside the order; a copy after the recorded success is the "resent after success" invariant).
 * Positions in the log are compared, not timestamps, so two requests in the same millisecond are
 * still ordered. Pairs that are lost or not final are skipped: other invariants fail them.
 */
export function checkKeyOrder(e: KeyOrderEvidence): OrderBreach[] {
  const first = new Map<string, number>();
  const first2xx = new Map<string, number>();
  const last = new Map<string, number>();
  let i = 0;
  for (const r of e.receptions) {
    if (r.endpoint !== e.endpoint) continue;
    i++;
    if (!first.has(r.eventId)) first.set(r.eventId, i);
    last.set(r.eventId, i);
    if (r.status !== null && r.status >= 200 && r.status < 300 && !first2xx.has(r.eventId)) first2xx.set(r.eventId, i);
  }
  // Per key: the latest settle mark of the events before, and which event set it.
  const settled = new Map<string, { at: number; eventId: string }>();
  const breaches: OrderBreach[] = [];
  for (const [eventId, key] of e.eventKeys) {
    const outcome = e.outcomes.get(eventId);
    if (outcome !== 'succeeded' && outcome !== 'dead') continue;
    const before = settled.get(key);
    const mine = first.get(eventId);
    if (before !== undefined && mine !== undefined && mine < before.at) {
      breaches.push({ endpoint: e.endpoint, key, earlier: before.eventId, later: eventId });
    }
    const at = outcome === 'succeeded' ? (first2xx.get(eventId) ?? 0) : (last.get(eventId) ?? 0);
    if (before === undefined || at > before.at) settled.set(key, { at, eventId });
  }
  return breaches;
}
