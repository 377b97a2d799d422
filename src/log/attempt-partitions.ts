import type pg from 'pg';
import type { Logger } from 'pino';
import { startPeriodicJob, type PeriodicJob } from '../util/periodic-job.ts';

/**
 * Keeps the monthly partitions of `webhooks.attempts`: the next months created ahead, months wholly
 * older than the retention dropped. Runs once now (rejecting if Postgres refuses), then every
 * `intervalMs`; a later failure is logged and tried again at the next interval.
 */
export async function startAttemptPartitionMaintenance(options: {
  pool: pg.Pool;
  retentionDays: number;
  intervalMs: number;
  logger: Logger;
}): Promise<PeriodicJob> {
  const { pool, retentionDays, logger } = options;
  const maintain = async (): Promise<void> => {
    await pool.query('select webhooks.ensure_attempt_partitions(2)');
    const { rows } = await pool.query<{ dropped: number }>(
      'select webhooks.drop_old_attempt_partitions(make_interval(days => $1)) as dropped',
      [retentionDays],
    );
    if (rows[0]!.dropped > 0) logger.info({ dropped: rows[0]!.dropped, retentionDays }, 'dropped old attempt partitions');
  };
  await maintain();
  return startPeriodicJob({
    run: maintain,
    intervalMs: options.intervalMs,
    onError: (err) => logger.warn({ err }, 'attempt partition maintenance failed'),
  });
}
