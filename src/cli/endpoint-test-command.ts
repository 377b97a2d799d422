import { randomUUID } from 'node:crypto';
import pkg from '../../package.json' with { type: 'json' };
import { signingSecrets, type EndpointRecord } from '../endpoints/endpoint-store.ts';
import { EVENT_TYPES, isEventType, type EventType } from '../events/catalog.ts';
import { stringValue } from './args.ts';
import type { Command } from './cli-context.ts';
import { EXIT, UsageError } from './cli-errors.ts';
import { findEndpointOrFail } from './endpoint-lookup.ts';
import { excerpt, formatMs } from './output.ts';
import { sampleBody } from './sample-events.ts';

/** Which event to send when `--event` is omitted: the endpoint's first subscribed type. */
function defaultEventType(endpoint: EndpointRecord): EventType {
  const first = endpoint.eventTypes.find(isEventType);
  return first ?? 'call.ended';
}

/**
 * `endpoints test`: one real, signed attempt of a sample event to one endpoint, made by the same
 * deliverer and signing as the dispatcher (current and still-valid previous secrets), with a fresh
 * uuid as `webhook-id`. Not recorded in the delivery log and never retried.
 */
export const testEndpointCommand: Command = {
  spec: {
    name: 'endpoints test',
    summary: 'Send a sample event to one endpoint now and print the response.',
    positionals: ['NAME|ID'],
    options: {
      event: {
        type: 'string',
        value: 'TYPE',
        description: `event type of the sample (default: the endpoint's first subscribed type): ${EVENT_TYPES.join(', ')}`,
      },
    },
    description:
      'The request is signed and sent exactly like a real delivery (same headers, both signatures,\nDELIVERY_TIMEOUT_MS), with a fresh uuid as webhook-id and X-Webhook-Attempt 1. It is sent even to a\ndisabled endpoint, is not recorded in the delivery log and is never retried.\nExit 0 when the endpoint answers 2xx, 1 otherwise. JSON: {endpoint, url, event_type, webhook_id,\noutcome, status_code, error_kind, error, duration_ms, response_body}.',
    examples: ['dialer-webhooks endpoints test crm-sync --event call.ended'],
  },
  async run(ctx, { values, positionals }) {
    const eventOption = stringValue(values, 'event');
    if (eventOption !== undefined && !isEventType(eventOption)) {
      throw new UsageError(
        `unknown event type ${JSON.stringify(eventOption)}; valid types: ${EVENT_TYPES.join(', ')}`,
        null,
        'dialer-webhooks endpoints test --help',
      );
    }
    const config = ctx.config();
    const { db } = await ctx.database();
    const endpoint = await findEndpointOrFail(db, positionals[0]!);
    const eventType = eventOption ?? defaultEventType(endpoint);
    if (!ctx.out.json) {
      if (!endpoint.enabled) ctx.out.error(`note: endpoint ${endpoint.name} is disabled; sending the test anyway`);
      if (!endpoint.eventTypes.includes('*') && !endpoint.eventTypes.includes(eventType)) {
        ctx.out.error(`note: endpoint ${endpoint.name} is not subscribed to ${eventType}; sending the test anyway`);
      }
    }

    const webhookId = randomUUID();
    // Loaded here: undici is needed by this command only.
    const { createDeliverer } = await import('../delivery/deliverer.ts');
    await using deliverer = createDeliverer({
      timeoutMs: config.delivery.timeoutMs,
      responseReadBytes: config.delivery.responseReadBytes,
      responseStoreBytes: config.delivery.responseStoreBytes,
      userAgent: `dialer-webhooks/${pkg.version}`,
      connectionsPerOrigin: 1,
    });
    const result = await deliverer.deliver({
      url: endpoint.url,
      deliveryId: webhookId,
      eventType,
      attempt: 1,
      body: sampleBody(eventType, new Date(ctx.now())),
      secrets: signingSecrets(endpoint, ctx.now()),
    });

    const ok = result.outcome === 'succeeded';
    if (ctx.out.json) {
      ctx.out.printJson({
        endpoint: endpoint.name,
        url: endpoint.url,
        event_type: eventType,
        webhook_id: webhookId,
        outcome: result.outcome,
        status_code: result.statusCode,
        error_kind: result.errorKind,
        error: result.error,
        duration_ms: result.durationMs,
        response_body: result.responseBody,
      });
    } else {
      ctx.out.line(`${ok ? 'OK' : 'FAILED'}: ${eventType} to ${endpoint.name} (${endpoint.url})`);
      ctx.out.fields(
        [
          ['status', result.statusCode === null ? `no response (${result.errorKind})` : String(result.statusCode)],
          ...(result.error === null ? [] : [['error', result.error] as const]),
          ['duration', formatMs(result.durationMs)],
          ['webhook-id', webhookId],
          ['response', result.responseBody === null ? '(empty)' : excerpt(result.responseBody, 200)],
        ],
        '  ',
      );
    }
    return ok ? EXIT.ok : EXIT.failed;
  },
};
