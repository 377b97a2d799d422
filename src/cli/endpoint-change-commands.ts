import { parseList, stringValue } from './args.ts';
import { endpointJson, printEndpoint, SHOW_SECRETS } from './endpoint-output.ts';
import { ADD_HEADER_OPTIONS, headerChangesOption, headersOption, UPDATE_HEADER_OPTIONS } from './header-options.ts';
import { FILTER_OPTION, filterChange } from './filter-option.ts';
import { LIMIT_OPTIONS, limitChanges } from './limit-options.ts';
import { ORDERING_OPTION, orderingChange } from './ordering-option.ts';
import type { Command } from './cli-context.ts';
import { CommandFailedError, EXIT, UsageError } from './cli-errors.ts';
import { createEndpoint, updateEndpoint } from '../endpoints/endpoint-store.ts';
import { ENDPOINT_ARGUMENT, requireEndpoint } from './endpoint-lookup.ts';
import { maskSecret } from './output.ts';

// `endpoints add` and `endpoints update`: the commands that set an endpoint's fields (a new
// endpoint column usually gets its option here, in both).

export const addCommand: Command = {
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
      ordering: ORDERING_OPTION,
      ...ADD_HEADER_OPTIONS,
      ...LIMIT_OPTIONS,
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
      ...orderingChange(stringValue(values, 'ordering')),
      headers: headersOption(values, 'endpoints add'),
      ...limitChanges(values),
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

export const updateCommand: Command = {
  spec: {
    name: 'endpoints update',
    summary: "Change an endpoint's name, URL, event types, description, filter, ordering, headers or limits.",
    positionals: ENDPOINT_ARGUMENT,
    options: {
      name: { type: 'string', value: 'NAME', description: 'new name' },
      url: { type: 'string', value: 'URL', description: 'new URL' },
      events: { type: 'string', value: 'TYPES', description: 'new comma-separated event types (replaces the list), or *' },
      description: { type: 'string', value: 'TEXT', description: 'new description ("" clears it)' },
      filter: FILTER_OPTION,
      ordering: ORDERING_OPTION,
      ...UPDATE_HEADER_OPTIONS,
      ...LIMIT_OPTIONS,
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
    const limits = limitChanges(values);
    const ordering = stringValue(values, 'ordering');
    const given = [name, url, events, description, filter, headers, ordering];
    if (given.every((v) => v === undefined) && Object.keys(limits).length === 0) {
      throw new UsageError(
        'nothing to change: give at least one of --name, --url, --events, --description, --filter, --ordering, --header, --remove-header, --clear-headers, --max-per-second, --max-in-flight',
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
      ...orderingChange(ordering),
      ...(headers === undefined ? {} : { headers }),
      ...limits,
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
