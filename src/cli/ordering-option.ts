import type { EndpointOrdering } from '../db/database.ts';
import { UsageError } from './cli-errors.ts';

/** `--ordering` of `endpoints add` and `endpoints update`. */
export const ORDERING_OPTION = {
  type: 'string',
  value: 'per_key|none',
  description: 'per_key: events with the same Kafka key arrive in offset order, later ones wait for a retrying one (docs/receiving.md)',
} as const;

/** `--ordering` as a change. */
export function orderingChange(text: string | undefined): { ordering?: EndpointOrdering } {
  if (text === undefined) return {};
  const value = text.trim();
  if (value === 'per_key' || value === 'none') return { ordering: value };
  throw new UsageError(`--ordering ${JSON.stringify(text)} is not per_key or none`, null, 'dialer-webhooks endpoints update --help');
}
