import type pg from 'pg';

/**
 * Answers, per input partition, the highest offset for which a delivery was ever recorded, read
 * once after this member (re)joins its group. A message above it cannot have deliveries already
 * (offset-derived delivery ids repeat only when the same offset is read again), so its lookup can
 * be skipped; that is the common case, since after a clean stop the committed offset is past it.
 */
export class ReplayHorizon {
  readonly #pool: pg.Pool;
  #horizons = new Map<string, Promise<bigint>>();

  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  /** True when deliveries for the message at `offset` may already exist. */
  async mayHaveDeliveries(topic: string, partition: number, offset: string): Promise<boolean> {
    const key = `${topic}\u0000${partition}`;
    let horizon = this.#horizons.get(key);
    if (!horizon) {
      horizon = this.#read(topic, partition);
      this.#horizons.set(key, horizon);
      horizon.catch(() => {
        if (this.#horizons.get(key) === horizon) this.#horizons.delete(key);
      });
    }
    return BigInt(offset) <= (await horizon);
  }

  /** Forgets every horizon: call it when the group's assignment changes. */
  reset(): void {
    this.#horizons = new Map();
  }

  async #read(topic: string, partition: number): Promise<bigint> {
    const { rows } = await this.#pool.query<{ max: string | null }>(
      'select max(source_offset)::text as max from webhooks.deliveries where source_topic = $1 and source_partition = $2 and source_offset is not null',
      [topic, partition],
    );
    return rows[0]?.max == null ? -1n : BigInt(rows[0].max);
  }
}
