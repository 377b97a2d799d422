/**
 * Failing endpoints (src/endpoints/auto-disable.ts): when an endpoint has failed every attempt
 * for a while, the service says so with the dialer's own `alert.triggered` event, and in the end
 * disables it. Parsed in src/config.ts, which holds the defaults.
 */
export interface AlertsConfig {
  /**
   * ALERTS_TOPIC: where the alert.triggered events go, in the dialer's envelope. Default the first
   * of INPUT_TOPICS, so endpoints subscribed to alert.triggered hear them; set but empty, no alert
   * is produced (auto-disable still happens).
   */
  topic: string | null;
  /** ALERT_FAILING_AFTER: a `webhook_endpoint_failing` alert once an endpoint has failed every attempt this long, once per streak (`1h`; units ms, s, m, h; 0 never). Default 1h. */
  failingAfterMs: number;
  /** AUTO_DISABLE_AFTER: an endpoint that has failed every attempt this long (and has AUTO_DISABLE_MIN_DEAD dead deliveries) is disabled (0 never). Default 24h. */
  autoDisableAfterMs: number;
  /** AUTO_DISABLE_MIN_DEAD: dead deliveries in the streak an endpoint must have before it is disabled. Default 10. */
  autoDisableMinDead: number;
  /** AUTO_DISABLE_CHECK_INTERVAL: how often failing streaks are checked (and unsent alerts produced). Default 30s. */
  checkIntervalMs: number;
}
