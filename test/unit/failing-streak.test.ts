import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../../src/config.ts';
import { ConfigError } from '../../src/errors.ts';
import {
  alertEvent,
  disabledReason,
  streakAction,
  youngestActionableMs,
  type FailingStreak,
  type StreakRules,
} from '../../src/endpoints/failing-streak.ts';

const HOUR = 3_600_000;
const NOW = Date.parse('2026-03-08T15:00:00.000Z');
const RULES: StreakRules = { failingAfterMs: HOUR, autoDisableAfterMs: 24 * HOUR, autoDisableMinDead: 10 };

function streak(failingForMs: number, overrides: Partial<FailingStreak> = {}): FailingStreak {
  return {
    endpointId: '0c7e8f3a-1111-4222-8333-444455556666',
    endpointName: 'crm',
    failingSince: new Date(NOW - failingForMs),
    lastError: 'HTTP 500',
    failedAttempts: 40,
    deadDeliveries: 10,
    failingAlertAt: null,
    ...overrides,
  };
}

test('disables once every attempt has failed for AUTO_DISABLE_AFTER and AUTO_DISABLE_MIN_DEAD deliveries are dead', () => {
  assert.equal(streakAction(streak(24 * HOUR), NOW, RULES), 'disable');
  assert.equal(streakAction(streak(24 * HOUR, { failingAlertAt: new Date(NOW - 23 * HOUR) }), NOW, RULES), 'disable');
  assert.equal(streakAction(streak(24 * HOUR - 1), NOW, RULES), 'alert_failing', 'a millisecond short of 24 h');
  assert.equal(streakAction(streak(48 * HOUR, { deadDeliveries: 9 }), NOW, RULES), 'alert_failing', 'failing for days with 9 dead');
});

test('the failing alert goes out after ALERT_FAILING_AFTER, once per streak', () => {
  assert.equal(streakAction(streak(HOUR - 1), NOW, RULES), 'none');
  assert.equal(streakAction(streak(HOUR), NOW, RULES), 'alert_failing');
  assert.equal(streakAction(streak(2 * HOUR, { failingAlertAt: new Date(NOW - HOUR) }), NOW, RULES), 'none');
});

test('a rule whose duration is 0 is off', () => {
  assert.equal(streakAction(streak(100 * HOUR), NOW, { ...RULES, autoDisableAfterMs: 0 }), 'alert_failing');
  assert.equal(streakAction(streak(100 * HOUR, { deadDeliveries: 0 }), NOW, { ...RULES, failingAfterMs: 0 }), 'none');
  assert.equal(youngestActionableMs({ ...RULES, failingAfterMs: 0, autoDisableAfterMs: 0 }), null);
  assert.equal(youngestActionableMs(RULES), HOUR);
  assert.equal(youngestActionableMs({ ...RULES, failingAfterMs: 0 }), 24 * HOUR);
});

test('the disabled reason names the start of the streak, the dead deliveries and the last error', () => {
  assert.equal(
    disabledReason(streak(25 * HOUR, { deadDeliveries: 12 })),
    'auto-disabled: every attempt failed since 2026-03-07T14:00:00.000Z (12 dead deliveries); last error: HTTP 500',
  );
  assert.match(disabledReason(streak(25 * HOUR, { deadDeliveries: 1, lastError: null })), /\(1 dead delivery\); last error: unknown$/);
});

test('an alert is an alert.triggered event in the dialer envelope with the alert, the endpoint and its streak', () => {
  const a = alertEvent('disable', streak(25 * HOUR), NOW);
  assert.equal(a.alert, 'webhook_endpoint_disabled');
  assert.match(a.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.deepEqual(Object.keys(a.event), ['event', 'timestamp', 'data']);
  assert.equal(a.event.event, 'alert.triggered');
  assert.equal(a.event.timestamp, '2026-03-08T15:00:00.000Z');
  assert.deepEqual(a.event.data, {
    alert: 'webhook_endpoint_disabled',
    endpoint_id: '0c7e8f3a-1111-4222-8333-444455556666',
    endpoint_name: 'crm',
    reason: disabledReason(streak(25 * HOUR)),
    failing_since: '2026-03-07T14:00:00.000Z',
    last_error: 'HTTP 500',
    failed_attempts: 40,
    dead_deliveries: 10,
  });
  const f = alertEvent('alert_failing', streak(2 * HOUR), NOW);
  assert.equal(f.event.data.alert, 'webhook_endpoint_failing');
  assert.match(
    String(f.event.data.reason),
    /^every attempt failed since 2026-03-08T13:00:00.000Z \(40 failed attempts, 10 dead deliveries so far\)/,
  );
  assert.notEqual(f.id, a.id);
});

test('ALERTS_TOPIC defaults to the first input topic, and set but empty turns alerts off', () => {
  const c = loadConfig({ INPUT_TOPICS: 'dialer.events,other' });
  assert.equal(c.alerts.topic, 'dialer.events');
  assert.equal(c.alerts.failingAfterMs, HOUR);
  assert.equal(c.alerts.autoDisableAfterMs, 24 * HOUR);
  assert.equal(c.alerts.autoDisableMinDead, 10);
  assert.equal(loadConfig({ ALERTS_TOPIC: '' }).alerts.topic, null);
  assert.equal(loadConfig({ ALERTS_TOPIC: ' ops.alerts ' }).alerts.topic, 'ops.alerts');
  const d = loadConfig({ AUTO_DISABLE_AFTER: '3s', ALERT_FAILING_AFTER: '0', AUTO_DISABLE_MIN_DEAD: '2' });
  assert.deepEqual([d.alerts.autoDisableAfterMs, d.alerts.failingAfterMs, d.alerts.autoDisableMinDead], [3000, 0, 2]);
});

test('a bad alert setting fails at start naming its variable', () => {
  for (const [env, variable] of [
    [{ AUTO_DISABLE_AFTER: 'a day' }, 'AUTO_DISABLE_AFTER'],
    [{ ALERT_FAILING_AFTER: '-1h' }, 'ALERT_FAILING_AFTER'],
    [{ AUTO_DISABLE_MIN_DEAD: '0' }, 'AUTO_DISABLE_MIN_DEAD'],
    [{ AUTO_DISABLE_CHECK_INTERVAL: '0' }, 'AUTO_DISABLE_CHECK_INTERVAL'],
    [{ ALERTS_TOPIC: 'no spaces allowed' }, 'ALERTS_TOPIC'],
  ] as const) {
    assert.throws(
      () => loadConfig(env),
      (err: unknown) => err instanceof ConfigError && err.variable === variable,
      variable,
    );
  }
});
