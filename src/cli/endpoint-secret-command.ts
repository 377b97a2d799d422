import { parseRelativeSeconds, stringValue } from './args.ts';
import { endpointJson, oldSecretValid } from './endpoint-output.ts';
import type { Command } from './cli-context.ts';
import { EXIT, UsageError } from './cli-errors.ts';
import { rotateEndpointSecret } from '../endpoints/endpoint-store.ts';
import { ENDPOINT_ARGUMENT, requireEndpoint } from './endpoint-lookup.ts';
import { formatTime } from './output.ts';

// `endpoints rotate-secret`: a new signing secret, the old one valid for an overlap.

export const rotateCommand: Command = {
  spec: {
    name: 'endpoints rotate-secret',
    summary: 'Give an endpoint a new secret; the old one stays valid for an overlap.',
    positionals: ENDPOINT_ARGUMENT,
    options: {
      overlap: { type: 'string', value: 'DURATION', description: 'how long the old secret stays valid: 30m, 24h, 7d, 0s (default 24h)' },
    },
    description:
      'Calls webhooks.rotate_secret. During the overlap every request carries a Standard Webhooks\nsignature for each secret (webhook-signature), and X-Webhook-Signature uses the new one. The new\nsecret is printed once, in full. JSON: the endpoint with the new secret in full.',
    examples: ['dialer-webhooks endpoints rotate-secret crm-sync --overlap 48h'],
  },
  async run(ctx, { values, positionals }) {
    const overlapText = stringValue(values, 'overlap') ?? '24h';
    const overlap = parseRelativeSeconds(overlapText);
    if (overlap === null)
      throw new UsageError(
        `--overlap ${JSON.stringify(overlapText)} is not a duration like 30m, 24h or 7d`,
        null,
        'dialer-webhooks endpoints rotate-secret --help',
      );
    const endpoint = await requireEndpoint(ctx, positionals[0]!);
    const { db } = await ctx.database();
    const rotated = await rotateEndpointSecret(db, endpoint.id, overlap);
    if (ctx.out.json) {
      ctx.out.printJson({ ...endpointJson(rotated, false), secret: rotated.secret });
      return EXIT.ok;
    }
    ctx.out.line(`Rotated the secret of endpoint ${rotated.name}`);
    ctx.out.fields(
      [
        ['new secret', rotated.secret],
        ['old secret', oldSecretValid(rotated) ? `valid until ${formatTime(rotated.previousSecretExpiresAt)}` : 'no longer valid'],
      ],
      '  ',
    );
    ctx.out.line('');
    ctx.out.line('This is the only time the new secret is shown in full: give it to the receiver before the overlap ends.');
    return EXIT.ok;
  },
};
