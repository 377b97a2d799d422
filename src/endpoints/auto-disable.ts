import type pg from 'pg';
import type { Logger } from 'pino';
import type { AlertsConfig } from '../config.ts';
import type { OutgoingMessage } from '../kafka/topic-producer.ts';
import type { EndpointCache } from './endpoint-cache.ts';
import { startPeriodicJob, type PeriodicJob } from '../util/periodic-job.ts';
import { alertEvent, streakAction, youngestActionableMs, type AlertEvent, type AlertName } from './failing-streak.ts';
import { applyStreakAction, claimUnproducedAlerts, findFailingStreaks, markAlertsProduced } from './streak-queries.ts';

export interface AutoDisableOptions {
  pool: pg.Pool;
  /** Produces with acks from all in-sync replicas (the service's TopicProducer). */
  producer: { send(topic: string, message: OutgoingMessage): Promise<void> };
  config: Readonly<AlertsConfig>;
  /** Alerts queued this long without being produced are produced by whichever dispatcher sweeps next, ms. */
  claimLeaseMs: number;
  logger: Logger;
  /**
   * This dispatcher's endpoint index and how long to wait, ms, for it to drop an endpoint just
   * disabled before its alert is produced: matched sooner, the alert could still go to it.
   */
  endpoints?: { cache: Pick<EndpointCache, 'get' | 'on' | 'off'>; waitMs: number };
  /** Observers for metrics. */
  onSweep?: (failingEndpoints: number) => void;
  onDisabled?: () => void;
  onAlertProduced?: (alert: AlertName) => void;
}

/**
 * The failing-endpoint sweep: every `config.checkIntervalMs`, each enabled endpoint's failing
 * streak (kept by the attempts trigger, migration 0011) is judged by `streakAction`; the
 * webhook_endpoint_failing alert is queued once per streak, and an endpoint past both
 * auto-disable thresholds is disabled with its reason and a webhook_endpoint_disabled alert.
 * Queued alerts are then produced to ALERTS_TOPIC as alert.triggered events with an `event-id`
 * header, so endpoints subscribed to alert.triggered hear them through the normal pipeline (a
 * disabled endpoint is not sent its own). Several dispatchers may sweep: each action is one
 * conditional statement, so it happens once.
 */
export function startAutoDisable(options: AutoDisableOptions): PeriodicJob {
  let running = false;
  return startPeriodicJob({
    run: async (signal) => {
      // A sweep slower than the interval is not overlapped by the next one.
      if (running) return;
      running = true;
      try {
        await sweepFailingEndpoints(options, signal);
      } finally {
        running = false;
      }
    },
    intervalMs: options.config.checkIntervalMs,
    runNow: true,
    onError: (err) => options.logger.warn({ err }, 'failing endpoint sweep failed; trying again at the next interval'),
  });
}

/** One sweep (see startAutoDisable); `onSweep` reports once its actions and alerts are done. */
export async function sweepFailingEndpoints(options: AutoDisableOptions, signal: AbortSignal): Promise<void> {
  const { pool, config, logger } = options;
  const minAgeMs = youngestActionableMs(config);
  const { nowMs, failingEndpoints, streaks } = await findFailingStreaks(pool, minAgeMs ?? Number.MAX_SAFE_INTEGER);
  const queued: AlertEvent[] = [];
  let disabled = 0;
  for (const streak of minAgeMs === null ? [] : streaks) {
    if (signal.aborted) return;
    const action = streakAction(streak, nowMs, config);
    if (action === 'none') continue;
    const alert = alertEvent(action, streak, nowMs);
    if (!(await applyStreakAction(pool, action, streak, alert, config.topic !== null))) continue;
    const log = logger.child({ endpointId: streak.endpointId, endpoint: streak.endpointName });
    if (action === 'disable') {
      disabled++;
      options.onDisabled?.();
    }
    log.warn({ reason: alert.event.data.reason }, action === 'disable' ? 'endpoint auto-disabled' : 'endpoint failing');
    if (config.topic !== null) queued.push(alert);
  }
  if (config.topic !== null && !signal.aborted) {
    if (options.endpoints) {
      for (const a of queued) if (a.alert === 'webhook_endpoint_disabled') await untilDropped(options.endpoints, a.endpointId);
    }
    await produceAlerts(options, config.topic, [...queued, ...(await claimUnproducedAlerts(pool, options.claimLeaseMs))], signal);
  }
  // Those disabled now no longer count as failing endpoints.
  options.onSweep?.(failingEndpoints - disabled);
}

async function produceAlerts(options: AutoDisableOptions, topic: string, alerts: AlertEvent[], signal: AbortSignal): Promise<void> {
  const produced: string[] = [];
  try {
    for (const a of alerts) {
      if (signal.aborted) break;
      // Keyed by endpoint, so one endpoint's alerts keep their order on the topic.
      await options.producer.send(topic, { key: a.endpointId, value: Buffer.from(JSON.stringify(a.event)), headers: { 'event-id': a.id } });
      produced.push(a.id);
      options.onAlertProduced?.(a.alert);
    }
  } finally {
    // What was produced is marked even when a later send failed; the rest waits for the lease.
    await markAlertsProduced(options.pool, produced);
  }
}

/** Resolves once `cache` no longer holds `endpointId` as enabled (it reloads on NOTIFY), or after `waitMs`. */
function untilDropped(endpoints: NonNullable<AutoDisableOptions['endpoints']>, endpointId: string): Promise<void> {
  const { cache, waitMs } = endpoints;
  if (cache.get(endpointId) === undefined) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      cache.off('reloaded', onReload);
      resolve();
    };
    const onReload = (): void => {
      if (cache.get(endpointId) === undefined) done();
    };
    const timer = setTimeout(done, waitMs);
    cache.on('reloaded', onReload);
  });
}
