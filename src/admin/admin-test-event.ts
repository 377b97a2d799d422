import { randomUUID } from 'node:crypto';
import type { Deliverer } from '../delivery/deliverer.ts';
import { signingSecrets, type Endpoint } from '../endpoints/endpoint.ts';
import { isEventType } from '../events/catalog.ts';
import { sampleBody } from '../events/sample-events.ts';
import type { TestEventResult } from './views/endpoint-page.ts';

/**
 * "Send test event": one real, signed attempt of a sample event, made by the dispatcher's own
 * deliverer and signing (current and still-valid previous secrets), with a fresh uuid as
 * `webhook-id`. Not recorded in the delivery log and never retried, like `endpoints test`.
 */
export async function sendTestEvent(options: {
  endpoint: Endpoint;
  eventType: string;
  deliverer: Deliverer;
  nowMs: number;
  signal?: AbortSignal;
}): Promise<TestEventResult> {
  const { endpoint, eventType, deliverer, nowMs } = options;
  if (!isEventType(eventType)) throw new RangeError(`unknown event type ${eventType}`);
  const webhookId = randomUUID();
  const result = await deliverer.deliver({
    url: endpoint.url,
    deliveryId: webhookId,
    eventType,
    attempt: 1,
    body: sampleBody(eventType, new Date(nowMs)),
    secrets: signingSecrets(endpoint, nowMs),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return {
    eventType,
    webhookId,
    outcome: result.outcome,
    statusCode: result.statusCode,
    errorKind: result.errorKind,
    error: result.error,
    durationMs: result.durationMs,
    responseBody: result.responseBody,
  };
}
