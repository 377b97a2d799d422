import type pg from 'pg';
import type { DeliveryStatus } from '../db/database.ts';
import { BatchedLookup } from '../util/batched-lookup.ts';

export interface StoredDelivery {
  status: DeliveryStatus;
  series: number;
  attempts: number;
}

/**
 * Finds deliveries already recorded, so a replayed event does not resend what succeeded or was
 * handed to a retry topic. Lookups made within the same few milliseconds share one query
 * (`id = any($1)`), which keeps this off the per-message round-trip path.
 */
export class DeliveryStatusLookup extends BatchedLookup<StoredDelivery> {
  constructor(pool: pg.Pool, options: { lingerMs?: number } = {}) {
    super(async (ids) => {
      const { rows } = await pool.query<{ id: string } & StoredDelivery>(
        'select id, status, series, attempts from webhooks.deliveries where id = any($1::uuid[])',
        [ids],
      );
      return new Map(rows.map((r) => [r.id, { status: r.status, series: r.series, attempts: r.attempts }]));
    }, options);
  }
}
