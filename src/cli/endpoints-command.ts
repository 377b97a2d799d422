import { parseList, parseRelativeSeconds, stringValue, type CommandSpec } from './args.ts';
import { endpointJson, note, oldSecretValid, printEndpoint, SHOW_SECRETS } from './endpoint-output.ts';
import { ADD_HEADER_OPTIONS, headerChangesOption, headersOption, UPDATE_HEADER_OPTIONS } from './header-options.ts';
import { FILTER_OPTION, filterChange } from './filter-option.ts';
import type { CliContext, Command } from './cli-context.ts';
import { CommandFailedError, EXIT, UsageError } from './cli-errors.ts';
import {
  createEndpoint,
  listEndpoints,
  rotateEndpointSecret,
  setEndpointEnabled,
  updateEndpoint,
  type EndpointRecord,
} from '../endpoints/endpoint-store.ts';
import { findEndpointOrFail } from './endpoint-lookup.ts';
import { testEndpointCommand } from './endpoint-test-command.ts';
import { formatTime, maskSecret } from './output.ts';

/** The endpoint with this name or id, or a failure (exit 1). */
export async function requireEndpoint(ctx: CliContext, ref: string): Promise<EndpointRecord> {
  const { db } = await ctx.database();
  return findEndpointOrFail(db, ref);
}

const listCommand: Command = {
  spec: {
    name: 'endpoints list',
    summary: 'List every webhook endpoint.',
    options: { 'show-secrets': SHOW_SECRETS },
    description:
      'HEADERS: the names of its extra request headers (values are never shown).\nJSON: an array of endpoints {id, name, url, event_types, filter, headers (names, masked values),\nenabled, disabled_reason, description, secret, previous_secret, previous_secret_expires_at,\ncreated_at, updated_at}.',
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
      ['NAME', 'STATUS', 'EVENTS', 'URL', 'SECRET', 'HEADERS', 'UPDATED', 'NOTE'],
      rows.map((e) => [
        e.name,
        e.enabled ? 'enabled' : 'disabled',
        e.eventTypes.join(','),
        e.url,
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

const addCommand: Command = {
  spec: {
    name: 'endpoints add',
    summary: 'Create an endpoint; prints its generated secret once.',
    options: {
      name: { type: 'string', value: 'NAME', description: 'unique short name, e.g. crm-sync', required: true },
      url: { type: 'string', value: 'URL', description: 'where to POST, http(s)://…', required: true },
      events: { type: 'string', value: 'TYPES', description: 'comma-separated event types, or * for all', required: true },
      secret: {
        type: 'string',
        value: 'SECRET',
        description: 'use this signing secret instead of a generated one (visible in the process list: prefer generated)',
      },
      description: { type: 'string', value: 'TEXT', description: 'free text for admins' },
      filter: FILTER_OPTION,
      ...ADD_HEADER_OPTIONS,
      disabled: { type: 'boolean', description: 'create it disabled (enable it later)' },
      'show-secrets': SHOW_SECRETS,
    },
    description:
      'Without --secret the database generates one (whsec_ + 32 random bytes, base64) and it is printed\nonce, in full: give it to the receiver now. Later commands show it masked unless --show-secrets.\nThe database checks the URL and event types; a rejection prints its message and hint (exit 1).\nJSON: the endpoint (see endpoints list --help), its secret in full when generated.',
    examples: ['dialer-webhooks endpoints add --name crm-sync --url https://crm.example.com/hooks/dialer --events call.ended,lead.updated'],
  },
  async run(ctx, { values }) {
    const { db } = await ctx.database();
    const secret = stringValue(values, 'secret');
    const endpoint = await createEndpoint(db, {
      name: stringValue(values, 'name')!,
      url: stringValue(values, 'url')!,
      eventTypes: parseList(stringValue(values, 'events')!),
      ...(secret === undefined ? {} : { secret }),
      enabled: values.disabled !== true,
      description: stringValue(values, 'description') ?? null,
      ...filterChange(stringValue(values, 'filter')),
      headers: headersOption(values, 'endpoints add'),
    });
    const reveal = secret === undefined || values['show-secrets'] === true;
    if (ctx.out.json) {
      ctx.out.printJson(endpointJson(endpoint, reveal));
      return EXIT.ok;
    }
    ctx.out.line(`Created endpoint ${endpoint.name}${endpoint.enabled ? '' : ' (disabled)'}`);
    printEndpoint(ctx, endpoint, (reveal ? endpoint.secret : maskSecret(endpoint.secret))!);
    if (secret === undefined) {
      ctx.out.line('');
      ctx.out.line('This is the only time the secret is shown in full: give it to the receiver now (docs/receiving.md).');
    }
    return EXIT.ok;
  },
};

const updateCommand: Command = {
  spec: {
    name: 'endpoints update',
    summary: "Change an endpoint's name, URL, event types, description, filter or headers.",
    positionals: ['NAME|ID'],
    options: {
      name: { type: 'string', value: 'NAME', description: 'new name' },
      url: { type: 'string', value: 'URL', description: 'new URL' },
      events: { type: 'string', value: 'TYPES', description: 'new comma-separated event types (replaces the list), or *' },
      description: { type: 'string', value: 'TEXT', description: 'new description ("" clears it)' },
      filter: FILTER_OPTION,
      ...UPDATE_HEADER_OPTIONS,
      'show-secrets': SHOW_SECRETS,
    },
    description:
      'Running dispatchers pick the change up at once (NOTIFY). Headers not named are kept; a header\nvalue is never printed back (set it again to change it). JSON: the endpoint as stored.',
    examples: ['dialer-webhooks endpoints update crm-sync --events call.ended,lead.updated,call.started'],
  },
  async run(ctx, { values, positionals }) {
    const name = stringValue(values, 'name');
    const url = stringValue(values, 'url');
    const events = stringValue(values, 'events');
    const description = stringValue(values, 'description');
    const filter = stringValue(values, 'filter');
    const headers = headerChangesOption(values);
    const given = [name, url, events, description, filter, headers];
    if (given.every((v) => v === undefined)) {
      throw new UsageError(
        'nothing to change: give at least one of --name, --url, --events, --description, --filter, --header, --remove-header, --clear-headers',
        null,
        'dialer-webhooks endpoints update --help',
      );
    }
    const current = await requireEndpoint(ctx, positionals[0]!);
    const { db } = await ctx.database();
    const updated = await updateEndpoint(db, current.id, {
      ...(name === undefined ? {} : { name }),
      ...(url === undefined ? {} : { url }),
      ...(events === undefined ? {} : { eventTypes: parseList(events) }),
      ...(description === undefined ? {} : { description: description === '' ? null : description }),
      ...filterChange(filter),
      ...(headers === undefined ? {} : { headers }),
    });
    if (!updated) throw new CommandFailedError(`endpoint ${JSON.stringify(positionals[0])} was deleted meanwhile`);
    const reveal = values['show-secrets'] === true;
    if (ctx.out.json) {
      ctx.out.printJson(endpointJson(updated, reveal));
      return EXIT.ok;
    }
    ctx.out.line(`Updated endpoint ${updated.name}`);
    printEndpoint(ctx, updated, (reveal ? updated.secret : maskSecret(updated.secret))!);
    return EXIT.ok;
  },
};

const showCommand: Command = {
  spec: {
    name: 'endpoints show',
    summary: 'Show one endpoint (secrets and header values masked).',
    positionals: ['NAME|ID'],
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

function toggleCommand(enable: boolean): Command {
  const verb = enable ? 'enable' : 'disable';
  const spec: CommandSpec = {
    name: `endpoints ${verb}`,
    summary: enable ? 'Enable an endpoint (clears its disabled reason).' : 'Disable an endpoint: it receives nothing until enabled again.',
    positionals: ['NAME|ID'],
    options: enable
      ? {}
      : { reason: { type: 'string', value: 'TEXT', description: 'why (kept in disabled_reason); default "disabled with the CLI"' } },
    description: `Doing it twice is fine (exit 0, "changed": false). ${enable ? '' : 'Retries already scheduled for it are cancelled when due. '}JSON: {"changed": boolean, "endpoint": {…}}.`,
  };
  return {
    spec,
    async run(ctx, { values, positionals }) {
      const endpoint = await requireEndpoint(ctx, positionals[0]!);
      const { db } = await ctx.database();
      const reason = enable ? null : (stringValue(values, 'reason') ?? 'disabled with the CLI');
      const result = await setEndpointEnabled(db, endpoint.id, enable, reason);
      if (!result) throw new CommandFailedError(`endpoint ${JSON.stringify(positionals[0])} was deleted meanwhile`);
      if (ctx.out.json) {
        ctx.out.printJson({ changed: result.changed, endpoint: endpointJson(result.endpoint, false) });
        return EXIT.ok;
      }
      ctx.out.line(
        result.changed
          ? `${enable ? 'Enabled' : 'Disabled'} endpoint ${result.endpoint.name}`
          : `Endpoint ${result.endpoint.name} was already ${verb}d`,
      );
      return EXIT.ok;
    },
  };
}

const rotateCommand: Command = {
  spec: {
    name: 'endpoints rotate-secret',
    summary: 'Give an endpoint a new secret; the old one stays valid for an overlap.',
    positionals: ['NAME|ID'],
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
