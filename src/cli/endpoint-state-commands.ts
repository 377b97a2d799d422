import { stringValue, type CommandSpec } from './args.ts';
import { endpointJson } from './endpoint-output.ts';
import type { Command } from './cli-context.ts';
import { CommandFailedError, EXIT } from './cli-errors.ts';
import { setEndpointEnabled } from '../endpoints/endpoint-store.ts';
import { ENDPOINT_ARGUMENT, requireEndpoint } from './endpoint-lookup.ts';

// `endpoints enable|disable`: whether an endpoint receives anything, and why not.

export function toggleCommand(enable: boolean): Command {
  const verb = enable ? 'enable' : 'disable';
  const spec: CommandSpec = {
    name: `endpoints ${verb}`,
    summary: enable ? 'Enable an endpoint (clears its disabled reason).' : 'Disable an endpoint: it receives nothing until enabled again.',
    positionals: ENDPOINT_ARGUMENT,
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
