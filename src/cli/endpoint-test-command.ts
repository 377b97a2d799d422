import { subscribesTo } from '../endpoints/endpoint-store.ts';
import { findEventTypes } from '../events/catalog-reads.ts';
import { eventTypeValue } from './args.ts';
import type { Command } from './cli-context.ts';
import { EXIT } from './cli-errors.ts';
import { ENDPOINT_ARGUMENT, findEndpointOrFail } from './endpoint-lookup.ts';
import { excerpt, formatMs } from './output.ts';

/** `endpoints test`: one real, signed attempt of a sample event to one endpoint (src/delivery/test-delivery.ts). */
export const testEndpointCommand: Command = {
  spec: {
    name: 'endpoints test',
    summary: 'Send a sample event to one endpoint now and print the response.',
    positionals: ENDPOINT_ARGUMENT,
    options: {
      event: {
        type: 'string',
        value: 'TYPE',
        description: `event type of the sample, from webhooks.event_types (default: the endpoint's first subscribed type)`,
      },
    },
    description:
      'The request is signed and sent exactly like a real delivery (same headers, both signatures,\nDELIVERY_TIMEOUT_MS), with a fresh uuid as webhook-id and X-Webhook-Attempt 1. It is sent even to a\ndisabled endpoint, is not recorded in the delivery log and is never retried.\nExit 0 when the endpoint answers 2xx, 1 otherwise. JSON: {endpoint, url, event_type, webhook_id,\noutcome, status_code, error_kind, error, duration_ms, response_body}.',
    examples: ['dialer-webhooks endpoints test crm-sync --event call.ended'],
  },
  async run(ctx, { values, positionals }) {
    const config = ctx.config();
    const { db } = await ctx.database();
    const catalog = await findEventTypes(db);
    const names = catalog.map((t) => t.name);
    const eventOption = eventTypeValue(values, 'event', 'endpoints test', names);
    const endpoint = await findEndpointOrFail(db, positionals[0]!);
    // Loaded here: undici is needed by this command only.
    const { createTestDeliverer, defaultTestEventType, sendTestEvent } = await import('../delivery/test-delivery.ts');
    const eventType = eventOption ?? defaultTestEventType(endpoint, names);
    const definition = catalog.find((t) => t.name === eventType) ?? { name: eventType, sampleData: {} };
    if (!ctx.out.json) {
      if (!endpoint.enabled) ctx.out.error(`note: endpoint ${endpoint.name} is disabled; sending the test anyway`);
      if (!subscribesTo(endpoint, eventType)) {
        ctx.out.error(`note: endpoint ${endpoint.name} is not subscribed to ${eventType}; sending the test anyway`);
      }
    }

    await using deliverer = createTestDeliverer(config.delivery);
    const result = await sendTestEvent({ endpoint, eventType: definition, deliverer, nowMs: ctx.now() });

    const ok = result.outcome === 'succeeded';
    if (ctx.out.json) {
      ctx.out.printJson({
        endpoint: endpoint.name,
        url: endpoint.url,
        event_type: eventType,
        webhook_id: result.webhookId,
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
          ['webhook-id', result.webhookId],
          ['response', result.responseBody === null ? '(empty)' : excerpt(result.responseBody, 200)],
        ],
        '  ',
      );
    }
    return ok ? EXIT.ok : EXIT.failed;
  },
};
