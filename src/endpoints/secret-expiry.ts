import type pg from 'pg';
import type { Logger } from 'pino';
import { startPeriodicJob, type PeriodicJob } from '../util/periodic-job.ts';

/**
 * Erases rotated-out secrets once their overlap has ended (`webhooks.expire_previous_secrets()`).
 * Signing already ignores an expired previous secret and the endpoints trigger clears one on any
 * write of its row; this sweep covers rows nobody writes, so an old secret does not stay readable
 * in the table for good. Runs once now, then every `intervalMs`; a failure is logged and retried
 * at the next interval.
 */
export async function startPreviousSecretExpiry(options: { pool: pg.Pool; intervalMs: number; logger: Logger }): Promise<PeriodicJob> {
  const { pool, logger } = options;
  const sweep = async (): Promise<void> => {
    // Called only when there is something to erase: any UPDATE of the table, even of no row, sends
    // the endpoints NOTIFY, and every dispatcher would reload its index for nothing.
    const { rows } = await pool.query<{ cleared: number }>(
      `select webhooks.expire_previous_secrets() as cleared
        where exists (select 1 from webhooks.endpoints where previous_secret_expires_at <= now())`,
    );
    if (rows.length > 0 && rows[0]!.cleared > 0) logger.info({ cleared: rows[0]!.cleared }, 'erased previous secrets past their overlap');
  };
  await sweep();
  return startPeriodicJob({
    run: sweep,
    intervalMs: options.intervalMs,
    onError: (err) => logger.warn({ err }, 'erasing expired previous secrets failed'),
  });
}
