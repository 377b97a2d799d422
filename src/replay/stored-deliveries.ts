import type pg from 'pg';
import type { Logger } from 'pino';
import { withBackoff } from '../delivery/with-backoff.ts';

/** What a replay needs to know of a delivery that already exists. */
export interface StoredDelivery {
  id: string;
  status: string;
  series: number;
  body_digest: Buffer | null;
}

/** The deliveries among `ids` that exist, by id (retried while Postgres is away). */
export async function findStoredDeliveries(
  pool: pg.Pool,
  ids: readonly string[],
  options: { signal: AbortSignal; logger: Logger },
): Promise<Map<string, StoredDelivery>> {
  if (ids.length === 0) return new Map();
  const { rows } = await withBackoff(
    () =>
      pool.query<StoredDelivery>('select id::text as id, status, series, body_digest from webhooks.deliveries where id = any($1::uuid[])', [
        ids,
      ]),
    { ...options, what: 'looking up deliveries to replay' },
  );
  return new Map(rows.map((r) => [r.id, r]));
}
