import type pg from 'pg';
import type { DeliveryStatus } from '../db/database.ts';

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
export class DeliveryStatusLookup {
  readonly #pool: pg.Pool;
  readonly #lingerMs: number;
  #pending: Array<{ ids: string[]; resolve: (m: Map<string, StoredDelivery>) => void; reject: (e: unknown) => void }> = [];
  #timer: NodeJS.Timeout | null = null;

  constructor(pool: pg.Pool, options: { lingerMs?: number } = {}) {
    this.#pool = pool;
    this.#lingerMs = options.lingerMs ?? 1;
  }

  find(ids: readonly string[]): Promise<Map<string, StoredDelivery>> {
    if (ids.length === 0) return Promise.resolve(new Map());
    return new Promise((resolve, reject) => {
      this.#pending.push({ ids: [...ids], resolve, reject });
      if (this.#timer === null) this.#timer = setTimeout(() => void this.#run(), this.#lingerMs);
    });
  }

  async #run(): Promise<void> {
    this.#timer = null;
    const batch = this.#pending.splice(0);
    try {
      const all = [...new Set(batch.flatMap((b) => b.ids))];
      const { rows } = await this.#pool.query<{ id: string } & StoredDelivery>(
        'select id, status, series, attempts from webhooks.deliveries where id = any($1::uuid[])',
        [all],
      );
      const found = new Map(rows.map((r) => [r.id, { status: r.status, series: r.series, attempts: r.attempts }]));
      for (const b of batch) {
        const m = new Map<string, StoredDelivery>();
        for (const id of b.ids) {
          const f = found.get(id);
          if (f) m.set(id, f);
        }
        b.resolve(m);
      }
    } catch (err) {
      for (const b of batch) b.reject(err);
    }
  }
}
