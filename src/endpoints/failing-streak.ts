import { randomUUID } from 'node:crypto';
import type { AlertsConfig } from '../config.ts';

/** One enabled endpoint's current failing streak (webhooks.failing_streaks, migration 0011). */
export interface FailingStreak {
  endpointId: string;
  endpointName: string;
  /** The first failed attempt after the last success (or since the endpoint was enabled). */
  failingSince: Date;
  lastError: string | null;
  failedAttempts: number;
  /** Deliveries of this endpoint that died in the streak. */
  deadDeliveries: number;
  /** When this streak's webhook_endpoint_failing alert was queued; null if it was not. */
  failingAlertAt: Date | null;
}

export type AlertName = 'webhook_endpoint_failing' | 'webhook_endpoint_disabled';

/** What the sweep does about a streak: nothing, the (once per streak) failing alert, or disable. */
export type StreakAction = 'none' | 'alert_failing' | 'disable';

export type StreakRules = Pick<AlertsConfig, 'failingAfterMs' | 'autoDisableAfterMs' | 'autoDisableMinDead'>;

/**
 * The decision for one streak at `nowMs`: disable once every attempt has failed for
 * `autoDisableAfterMs` and at least `autoDisableMinDead` deliveries are dead; otherwise the
 * failing alert once the streak is `failingAfterMs` old, unless this streak already had it.
 * A rule whose duration is 0 is off. Disabling wins: its alert says all the failing one would.
 */
export function streakAction(streak: FailingStreak, nowMs: number, rules: StreakRules): StreakAction {
  const failingMs = nowMs - streak.failingSince.getTime();
  if (rules.autoDisableAfterMs > 0 && failingMs >= rules.autoDisableAfterMs && streak.deadDeliveries >= rules.autoDisableMinDead) {
    return 'disable';
  }
  if (rules.failingAfterMs > 0 && failingMs >= rules.failingAfterMs && streak.failingAlertAt === null) return 'alert_failing';
  return 'none';
}

/** The youngest streak any rule can act on, ms; null when both rules are off. */
export function youngestActionableMs(rules: StreakRules): number | null {
  const on = [rules.failingAfterMs, rules.autoDisableAfterMs].filter((ms) => ms > 0);
  return on.length === 0 ? null : Math.min(...on);
}

const count = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`;

/** The text kept in `disabled_reason` (and sent as the alert's reason). */
export function disabledReason(streak: FailingStreak): string {
  return (
    `auto-disabled: every attempt failed since ${streak.failingSince.toISOString()} ` +
    `(${count(streak.deadDeliveries, 'dead delivery', 'dead deliveries')}); last error: ${streak.lastError ?? 'unknown'}`
  );
}

/** The reason of a webhook_endpoint_failing alert. */
export function failingReason(streak: FailingStreak): string {
  return (
    `every attempt failed since ${streak.failingSince.toISOString()} (${count(streak.failedAttempts, 'failed attempt', 'failed attempts')}, ` +
    `${count(streak.deadDeliveries, 'dead delivery', 'dead deliveries')} so far); last error: ${streak.lastError ?? 'unknown'}`
  );
}

/** An alert.triggered event in the dialer's own envelope, with the id its event-id header carries. */
export interface AlertEvent {
  id: string;
  alert: AlertName;
  endpointId: string;
  event: { event: 'alert.triggered'; timestamp: string; data: Record<string, unknown> };
}

/** The alert for `action` ('alert_failing' or 'disable') about `streak`, stamped `nowMs`. */
export function alertEvent(action: Exclude<StreakAction, 'none'>, streak: FailingStreak, nowMs: number): AlertEvent {
  const alert: AlertName = action === 'disable' ? 'webhook_endpoint_disabled' : 'webhook_endpoint_failing';
  return {
    id: randomUUID(),
    alert,
    endpointId: streak.endpointId,
    event: {
      event: 'alert.triggered',
      timestamp: new Date(nowMs).toISOString(),
      data: {
        alert,
        endpoint_id: streak.endpointId,
        endpoint_name: streak.endpointName,
        reason: action === 'disable' ? disabledReason(streak) : failingReason(streak),
        failing_since: streak.failingSince.toISOString(),
        last_error: streak.lastError,
        failed_attempts: streak.failedAttempts,
        dead_deliveries: streak.deadDeliveries,
      },
    },
  };
}
