import { parseSince, stringValue } from './args.ts';
import type { Command } from './cli-context.ts';
import { EXIT } from './cli-errors.ts';
import { deliveryIdArgument, deliveryJson, requireDelivery } from './deliveries-command.ts';
import { recover, redeliver } from '../log/delivery-queries.ts';
import { endpointSinceOptions, findEndpointOrFail } from './endpoint-lookup.ts';
import { formatTime } from './output.ts';

export const redeliverCommand: Command = {
  spec: {
    name: 'redeliver',
    summary: 'Send a failed delivery again (new attempt series, same webhook-id).',
    positionals: ['ID'],
    options: {
      force: {
        type: 'boolean',
        description:
          'also redeliver a delivery that succeeded (only possible if it failed at least once before: only then is its body kept)',
      },
    },
    description:
      'Calls webhooks.redeliver: the delivery becomes pending with a new series of attempts, and a running\ndispatcher sends it within seconds through the normal retry path, with fresh signatures and the\nsame webhook-id. Allowed for dead, cancelled and failing (retrying) deliveries; the database\nexplains a refusal (exit 1). JSON: the delivery as deliveries list prints it.',
    examples: ['dialer-webhooks redeliver 6f1c1f3e-8d4b-5b7a-9a3e-2f55c0d7b1a4'],
  },
  async run(ctx, { values, positionals }) {
    const id = deliveryIdArgument(positionals[0]!, 'redeliver');
    const { db } = await ctx.database();
    await redeliver(db, id, values.force === true);
    const delivery = await requireDelivery(ctx, id);
    if (ctx.out.json) {
      ctx.out.printJson(deliveryJson(delivery));
      return EXIT.ok;
    }
    ctx.out.line(
      `Redelivery of ${delivery.id} to ${delivery.endpoint_name ?? delivery.endpoint_id} requested: series ${delivery.series}, status ${delivery.status}.`,
    );
    ctx.out.line(`Follow it with: dialer-webhooks deliveries show ${delivery.id}`);
    return EXIT.ok;
  },
};

export const recoverCommand: Command = {
  spec: {
    name: 'recover',
    summary: 'Send again every failed delivery of one endpoint since a time.',
    options: endpointSinceOptions('deliveries whose last attempt is'),
    description:
      'Calls webhooks.recover: every dead, cancelled or failing delivery of the endpoint whose last attempt\n(or creation) is at or after TIME gets a new attempt series, as with redeliver. Use it after an\noutage of the receiver. The endpoint must be enabled. JSON: {endpoint_id, endpoint_name, since,\nrequested}.',
    examples: ['dialer-webhooks recover --endpoint crm-sync --since 6h'],
  },
  async run(ctx, { values }) {
    const since = parseSince('since', stringValue(values, 'since')!, ctx.now());
    const { db } = await ctx.database();
    const endpoint = await findEndpointOrFail(db, stringValue(values, 'endpoint')!);
    const requested = await recover(db, endpoint.id, since);
    if (ctx.out.json) {
      ctx.out.printJson({ endpoint_id: endpoint.id, endpoint_name: endpoint.name, since: since.toISOString(), requested });
      return EXIT.ok;
    }
    ctx.out.line(
      requested === 0
        ? `No failed deliveries of ${endpoint.name} since ${formatTime(since)}.`
        : `Requested redelivery of ${requested} failed deliver${requested === 1 ? 'y' : 'ies'} of ${endpoint.name} since ${formatTime(since)}.`,
    );
    return EXIT.ok;
  },
};
