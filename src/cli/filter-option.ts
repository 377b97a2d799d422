import { UsageError } from './cli-errors.ts';

/** `--filter` of `endpoints add` and `endpoints update`. */
export const FILTER_OPTION = {
  type: 'string',
  value: 'JSON',
  description: 'payload filter, e.g. \'{"data.campaign": {"$in": ["Q1-Sales"]}}\' ("" or null removes it; docs/admin.md)',
} as const;

/** `--filter` as a change: JSON text, checked by the database (its message names the fault). */
export function filterChange(text: string | undefined): { filter?: unknown } {
  if (text === undefined) return {};
  if (text.trim() === '' || text.trim() === 'null') return { filter: null };
  try {
    return { filter: JSON.parse(text) as unknown };
  } catch (err) {
    throw new UsageError(`--filter is not JSON: ${(err as Error).message}`, null, 'dialer-webhooks endpoints update --help');
  }
}
