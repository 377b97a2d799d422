import type pg from 'pg';
import type { Logger } from 'pino';
import { PREVIOUS_SECRET_SWEEP_MS, type Config } from './config.ts';
import { startPreviousSecretExpiry } from './endpoints/secret-expiry.ts';
import { startAttemptPartitionMaintenance } from './log/attempt-partitions.ts';
import { startDeliveryRetention } from './log/delivery-retention.ts';

/**
 * Starts the service's periodic Postgres upkeep: erasing rotated-out secrets, keeping the attempt
 * partitions and pruning old deliveries. Each job's stop goes onto `cleanups` as soon as it runs,
 * so a failed first run (which rejects) leaves nothing behind once the caller cleans up.
 */
export async function startMaintenance(
  pool: pg.Pool,
  config: Readonly<Config>,
  logger: Logger,
  cleanups: Array<() => Promise<unknown>>,
): Promise<void> {
  const secretExpiry = await startPreviousSecretExpiry({ pool, intervalMs: PREVIOUS_SECRET_SWEEP_MS, logger });
  cleanups.push(async () => secretExpiry.stop());
  const partitions = await startAttemptPartitionMaintenance({
    pool,
    retentionDays: config.log.retentionDays,
    intervalMs: config.log.maintenanceIntervalMs,
    logger,
  });
  cleanups.push(async () => partitions.stop());
  const retention = startDeliveryRetention({
    pool,
    retentionDays: config.log.deliveryRetentionDays,
    intervalMs: config.log.maintenanceIntervalMs,
    logger,
  });
  cleanups.push(async () => retention.stop());
}
