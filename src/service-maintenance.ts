import type pg from 'pg';
import type { Logger } from 'pino';
import { ALERT_CLAIM_LEASE_MS, DISABLED_ENDPOINT_DROP_WAIT_MS, PREVIOUS_SECRET_SWEEP_MS, type Config } from './config.ts';
import { startAutoDisable } from './endpoints/auto-disable.ts';
import type { EndpointCache } from './endpoints/endpoint-cache.ts';
import { startPreviousSecretExpiry } from './endpoints/secret-expiry.ts';
import { startAttemptPartitionMaintenance } from './log/attempt-partitions.ts';
import { startDeliveryRetention } from './log/delivery-retention.ts';
import type { TopicProducer } from './kafka/topic-producer.ts';
import type { Metrics } from './metrics/metrics.ts';

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

/**
 * Starts the failing-endpoint sweep (alerts and auto-disable, src/endpoints/auto-disable.ts); it
 * needs the producer and the endpoint index, so it starts once both are up. Its stop goes onto `cleanups`.
 */
export function startFailingEndpointSweep(
  deps: { pool: pg.Pool; producer: TopicProducer; endpoints: EndpointCache; metrics: Metrics; logger: Logger },
  config: Readonly<Config>,
  cleanups: Array<() => Promise<unknown>>,
): void {
  const { metrics } = deps;
  const job = startAutoDisable({
    pool: deps.pool,
    producer: deps.producer,
    config: config.alerts,
    claimLeaseMs: ALERT_CLAIM_LEASE_MS,
    endpoints: { cache: deps.endpoints, waitMs: DISABLED_ENDPOINT_DROP_WAIT_MS },
    logger: deps.logger.child({ component: 'auto-disable' }),
    onSweep: (failing) => metrics.endpointsFailing.set(failing),
    onDisabled: () => metrics.endpointsAutoDisabled.inc(),
    onAlertProduced: (alert) => metrics.alertsProduced.inc({ alert }),
  });
  cleanups.push(async () => job.stop());
}
