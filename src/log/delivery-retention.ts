import type pg from 'pg';
import type { Logger } from 'pino';
import { startPeriodicJob, type PeriodicJob } from '../util/periodic-job.ts';

/** Rows deleted per statement, so a large backlog never holds locks for long. */
const BATCH_SIZE = 10_000;

/**
 * Deletes the deliveries (payloads included) that reached a final state and were neither created
 * nor updated within `retentionDays`, batch by batch. Returns how many rows went.
 */
export async function pruneDeliveries(pool: pg.Pool, retentionDays: number, signal?: AbortSignal): Promise<number> {
  let total = 0;
  for (;;) {
    signal?.throwIfAborted();
    const { rows } = await pool.query<{ deleted: number }>('select webhooks.prune_deliveries(make_interval(days => $1), $2) as deleted', [
      retentionDays,
      BATCH_SIZE,
    ]);
    const deleted = rows[0]?.deleted ?? 0;
    total += deleted;
    if (deleted < BATCH_SIZE) return total;
  }
}

/**
 * Runs `pruneDeliveries` now, without waiting (a first backlog may take a while), then every
 * `intervalMs`; a failure is logged and tried again at the next interval. `stop()` also ends a
 * run in progress after its current batch.
 */
export function startDeliveryRetention(options: { pool: pg.Pool; retentionDays: number; intervalMs: number; logger: Logger }): PeriodicJob {
  const { pool, retentionDays, logger } = options;
  return startPeriodicJob({
    run: async (signal) => {
      const deleted = await pruneDeliveries(pool, retentionDays, signal);
      if (deleted > 0) logger.info({ deleted, retentionDays }, 'deleted deliveries past their retention');
    },
    intervalMs: options.intervalMs,
    onError: (err) => logger.warn({ err }, 'delivery retention failed'),
    runNow: true,
  });
}
