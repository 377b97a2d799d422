import type { Db } from '../db/database.ts';
import { findEndpoint, type EndpointRecord } from '../endpoints/endpoint-store.ts';
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
