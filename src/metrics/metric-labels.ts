/** The bounded values of the metrics' labels, and how an attempt maps to its `result`. */

/** Result class of one HTTP attempt, the `result` label. */
export type AttemptResult = '2xx' | '3xx' | '4xx' | '5xx' | 'timeout' | 'network' | 'aborted';
export const ATTEMPT_RESULTS: readonly AttemptResult[] = ['2xx', '3xx', '4xx', '5xx', 'timeout', 'network', 'aborted'];

/**
 * What became of a delivery at one step, the `outcome` label: `retried` is counted each time a
 * failed attempt is handed to a retry topic; the other three are final.
 */
export type DeliveryOutcome = 'succeeded' | 'retried' | 'dead' | 'cancelled';
export const DELIVERY_OUTCOMES: readonly DeliveryOutcome[] = ['succeeded', 'retried', 'dead', 'cancelled'];

/**
 * The spec's nine event types, only for the series exported at 0 from the start: which types
 * exist is webhooks.event_types, not loaded yet when the metrics are created.
 */
export const SPEC_EVENT_TYPES: readonly string[] = [
  ...['call.started', 'call.ended', 'agent.login', 'agent.logout', 'agent.pause', 'agent.resume'],
  ...['lead.updated', 'recording.ready', 'alert.triggered'],
];

/** The two consumers, the `consumer` label of `webhooks_consumer_up`. */
export type ConsumerName = 'input' | 'retry';
export const CONSUMER_NAMES: readonly ConsumerName[] = ['input', 'retry'];

/**
 * Maps an attempt's HTTP status or error kind to the `result` label. A timeout or an abort wins
 * over a status received before it; a status outside 200–599 or an error without a status (DNS,
 * refused, reset, TLS, protocol) is `network`.
 */
export function resultClass(statusCode: number | null, errorKind: string | null): AttemptResult {
  // A stalled endpoint (requests not sent because earlier ones hang) counts with the timeouts.
  if (errorKind === 'timeout' || errorKind === 'stalled') return 'timeout';
  if (errorKind === 'aborted' || errorKind === 'cancelled') return 'aborted';
  if (statusCode !== null) {
    if (statusCode >= 200 && statusCode < 300) return '2xx';
    if (statusCode >= 300 && statusCode < 400) return '3xx';
    if (statusCode >= 400 && statusCode < 500) return '4xx';
    if (statusCode >= 500 && statusCode < 600) return '5xx';
  }
  return 'network';
}

/** What a replay did with an event it read: the `outcome` label of `webhooks_replay_events_total`. */
export type ReplayEventOutcome = 'queued' | 'skipped_succeeded' | 'in_flight' | 'filtered' | 'invalid';
export const REPLAY_EVENT_OUTCOMES: readonly ReplayEventOutcome[] = ['queued', 'skipped_succeeded', 'in_flight', 'filtered', 'invalid'];

/** How a replay run by a dispatcher ended: the `status` label of `webhooks_replays_total`. */
export type ReplayEndStatus = 'done' | 'failed' | 'cancelled';
export const REPLAY_END_STATUSES: readonly ReplayEndStatus[] = ['done', 'failed', 'cancelled'];
