import type { StoredDelivery } from '../log/delivery-status-lookup.ts';
import type { DeliveryTask } from '../retry/retry-message.ts';

/** The states after which a delivery is never attempted again (short of a redelivery). */
export const FINAL: ReadonlySet<string> = new Set(['succeeded', 'dead', 'cancelled']);

/** A retry message made stale by a later state of its delivery (a duplicate, or a newer series). */
export function isSuperseded(stored: StoredDelivery | undefined, task: DeliveryTask): boolean {
  if (!stored) return false;
  if (stored.series !== task.series) return stored.series > task.series;
  return FINAL.has(stored.status) || stored.attempts >= task.attempt;
}

/**
 * Like Promise.all, but waits for every promise before rethrowing the first failure. One promise
 * (an event of one endpoint, the common case) is its own answer: no allSettled array and results.
 */
export async function settleAll(work: Promise<void>[]): Promise<void> {
  if (work.length === 1) return work[0];
  const results = await Promise.allSettled(work);
  for (const r of results) if (r.status === 'rejected') throw r.reason;
}
