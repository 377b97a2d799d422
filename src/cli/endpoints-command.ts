import { endpointJson, note, printEndpoint, SHOW_SECRETS } from './endpoint-output.ts';
import type { Command } from './cli-context.ts';
import { EXIT } from './cli-errors.ts';
import { listEndpoints } from '../endpoints/endpoint-store.ts';
import { ENDPOINT_ARGUMENT, requireEndpoint } from './endpoint-lookup.ts';
import { addCommand, updateCommand } from './endpoint-change-commands.ts';
import { rotateCommand } from './endpoint-secret-command.ts';
import { toggleCommand } from './endpoint-state-commands.ts';
import { testEndpointCommand } from './endpoint-test-command.ts';
import { limitsText } from './limit-options.ts';
import { formatTime, maskSecret } from './output.ts';

const showCommand: Command = {
  spec: {
    name: 'endpoints show',
    summary: 'Show one endpoint (secrets and header values masked).',
    positionals: ENDPOINT_ARGUMENT,
    options: { 'show-secrets': SHOW_SECRETS },
    description: 'JSON: the endpoint (see endpoints list --help).',
  },
  async run(ctx, { values, positionals }) {
    const e = await requireEndpoint(ctx, positionals[0]!);
    const reveal = values['show-secrets'] === true;
    if (ctx.out.json) {
      ctx.out.printJson(endpointJson(e, reveal));
      return EXIT.ok;
    }
    printEndpoint(ctx, e, (reveal ? e.secret : maskSecret(e.secret))!);
    return EXIT.ok;
  },
};

const listCommand: Command = {
  spec: {
    name: 'endpoints list',
    summary: 'List every webhook endpoint.',
    options: { 'show-secrets': SHOW_SECRETS },
    description:
      'HEADERS: the names of its extra request headers (values are never shown).\nJSON: an array of endpoints {id, name, url, event_types, filter, max_per_second, max_in_flight, headers (names, masked values),\nordering, enabled, disabled_reason, description, secret, previous_secret, previous_secret_expires_at,\ncreated_at, updated_at}.',
  },
  async run(ctx, { values }) {
    const { db } = await ctx.database();
    const rows = await listEndpoints(db);
    const reveal = values['show-secrets'] === true;
    if (ctx.out.json) {
      ctx.out.printJson(rows.map((e) => endpointJson(e, reveal)));
      return EXIT.ok;
    }
    ctx.out.table(
      ['NAME', 'STATUS', 'EVENTS', 'URL', 'LIMITS', 'SECRET', 'HEADERS', 'UPDATED', 'NOTE'],
      rows.map((e) => [
        e.name,
        e.enabled ? 'enabled' : 'disabled',
        e.eventTypes.join(','),
        e.url,
        limitsText(e),
        (reveal ? e.secret : maskSecret(e.secret))!,
        Object.keys(e.headers ?? {})
          .sort()
          .join(','),
        formatTime(e.updatedAt),
        note(e),
      ]),
      'No endpoints yet. Add one with: dialer-webhooks endpoints add --name NAME --url URL --events TYPES',
    );
    return EXIT.ok;
  },
};

export const ENDPOINT_COMMANDS: readonly Command[] = [
  listCommand,
  showCommand,
  addCommand,
  updateCommand,
  toggleCommand(true),
  toggleCommand(false),
  rotateCommand,
  testEndpointCommand,
];
