import type { OptionSpec } from './args.ts';
import type { Db } from '../db/database.ts';
import { findEndpoint, type EndpointRecord } from '../endpoints/endpoint-store.ts';
import type { CliContext } from './cli-context.ts';
import { CommandFailedError } from './cli-errors.ts';

/** The endpoint with this id or name; a missing one is a failure (exit 1) naming what was looked for. */
export async function findEndpointOrFail(db: Db, ref: string): Promise<EndpointRecord> {
  const endpoint = await findEndpoint(db, ref);
  if (!endpoint) {
    throw new CommandFailedError(`no endpoint named or with id ${JSON.stringify(ref)}`, {
      hint: 'List them with: dialer-webhooks endpoints list',
    });
  }
  return endpoint;
}

/** The argument of the commands that act on one endpoint, which `requireEndpoint` resolves. */
export const ENDPOINT_ARGUMENT = ['NAME|ID'] as const;

/** The endpoint with this name or id (a command's NAME|ID argument), or a failure (exit 1). */
export async function requireEndpoint(ctx: CliContext, ref: string): Promise<EndpointRecord> {
  const { db } = await ctx.database();
  return findEndpointOrFail(db, ref);
}

/**
 * `--endpoint NAME|ID --since TIME`, both required: the options of the commands that act on one
 * endpoint's traffic since a time (recover, replay). `what` names what TIME bounds in the help.
 */
export function endpointSinceOptions(what: string): Record<'endpoint' | 'since', OptionSpec> {
  return {
    endpoint: { type: 'string', value: 'NAME|ID', description: 'the endpoint', required: true },
    since: { type: 'string', value: 'TIME', description: `${what} at or after: relative (6h, 2d) or ISO 8601`, required: true },
  };
}

/** The `--endpoint NAME|ID` option of a list command: only the rows of that endpoint. */
export function endpointFilterOption(rows: string): OptionSpec {
  return { type: 'string', value: 'NAME|ID', description: `only ${rows} to this endpoint` };
}
