import { randomUUID } from 'node:crypto';
import pkg from '../../package.json' with { type: 'json' };
import type { Config } from '../config.ts';
import { signingSecrets, type Endpoint } from '../endpoints/endpoint.ts';
import type { EventType, EventTypeDefinition } from '../events/catalog.ts';
import { sampleBody } from '../events/sample-events.ts';
import { createDeliverer, type AttemptResult, type Deliverer } from './deliverer.ts';
import { egressOptions } from './egress-connector.ts';

// A test event is one real attempt of a sample event to one endpoint, made by the dispatcher's
// deliverer and signing (current and still-valid previous secrets), with a fresh uuid as
// `webhook-id`, and the endpoint's own headers. It is sent even to a disabled or unsubscribed endpoint (that is what an admin
// checks a receiver with), is not recorded in the delivery log and is never retried. Used by the
// CLI's `endpoints test` and the web admin's "Send test event".

export interface TestEventRequest {
  endpoint: Endpoint;
  /** The catalog's row for the type (its name and sample data). */
  eventType: Pick<EventTypeDefinition, 'name' | 'sampleData'>;
  deliverer: Deliverer;
  /** Wall clock, ms: the sample's timestamp and the signing secrets' validity. Default `Date.now()`. */
  nowMs?: number;
  /** Default a fresh random uuid. */
  webhookId?: string;
  signal?: AbortSignal;
}

/** The attempt's result, with what was sent. */
export type TestEventResult = AttemptResult & { webhookId: string; eventType: EventType };

/** Sends one test event; like `deliver()` it never throws: a failure is a result. */
export async function sendTestEvent(request: TestEventRequest): Promise<TestEventResult> {
  const { endpoint, deliverer } = request;
  const eventType = request.eventType.name;
  const nowMs = request.nowMs ?? Date.now();
  const webhookId = request.webhookId ?? randomUUID();
  const result = await deliverer.deliver({
    url: endpoint.url,
    deliveryId: webhookId,
    eventType,
    attempt: 1,
    body: sampleBody(request.eventType, new Date(nowMs)),
    secrets: signingSecrets(endpoint, nowMs),
    ...(endpoint.headers === undefined ? {} : { headers: endpoint.headers }),
    ...(request.signal === undefined ? {} : { signal: request.signal }),
  });
  return { ...result, webhookId, eventType };
}

/**
 * Which event to send when none is chosen: the endpoint's first subscribed type in the catalog,
 * else `call.ended`.
 */
export function defaultTestEventType(endpoint: Endpoint, catalogNames: readonly string[]): EventType {
  return endpoint.eventTypes.find((t) => catalogNames.includes(t)) ?? 'call.ended';
}

/**
 * A deliverer for test events: the service's timeout and response limits, one connection (a
 * test is one request). Close it (or `await using` it) when done.
 */
export function createTestDeliverer(delivery: Readonly<Config['delivery']>): Deliverer {
  return createDeliverer({
    timeoutMs: delivery.timeoutMs,
    responseReadBytes: delivery.responseReadBytes,
    responseStoreBytes: delivery.responseStoreBytes,
    userAgent: `dialer-webhooks/${pkg.version}`,
    connectionsPerOrigin: 1,
    // The dispatcher's guard: a test event must not reach what a delivery may not.
    ...egressOptions(delivery),
  });
}
