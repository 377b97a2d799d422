import { parseIntegerOption, stringValue, type ParsedValues } from './args.ts';
import { UsageError } from './cli-errors.ts';
import type { EndpointRecord } from '../endpoints/endpoint-store.ts';

const NONE = new Set(['', 'none', 'null']);

/** `--max-per-second` and `--max-in-flight` of `endpoints add` and `endpoints update`. */
export const LIMIT_OPTIONS = {
  'max-per-second': {
    type: 'string',
    value: 'RATE',
    description: 'most requests per second, e.g. 5 or 0.5 ("none" removes the limit)',
  },
  'max-in-flight': {
    type: 'string',
    value: 'N',
    description: 'most requests open at once, e.g. 1 ("none": the service default, ENDPOINT_CONCURRENCY)',
  },
} as const;

/**
 * The limits given as changes. Only the syntax is checked here; the database checks the range
 * and its message names the column.
 */
export function limitChanges(values: ParsedValues): { maxPerSecond?: number | null; maxInFlight?: number | null } {
  const rate = stringValue(values, 'max-per-second');
  const inFlight = stringValue(values, 'max-in-flight');
  const out: { maxPerSecond?: number | null; maxInFlight?: number | null } = {};
  if (rate !== undefined) {
    const t = rate.trim();
    if (NONE.has(t)) out.maxPerSecond = null;
    else if (/^\d+(\.\d+)?$|^\.\d+$/.test(t)) out.maxPerSecond = Number(t);
    else throw new UsageError(`--max-per-second must be a number such as 5 or 0.5, or none; got ${JSON.stringify(rate)}`);
  }
  if (inFlight !== undefined) {
    out.maxInFlight = NONE.has(inFlight.trim()) ? null : parseIntegerOption('max-in-flight', inFlight, 0, 2_147_483_647);
  }
  return out;
}

/** The limits in words (`5/s, 2 at once`), or '' when the endpoint has none. */
export function limitsText(e: EndpointRecord): string {
  const parts: string[] = [];
  if (e.maxPerSecond !== null && e.maxPerSecond !== undefined) parts.push(`${e.maxPerSecond}/s`);
  if (e.maxInFlight !== null && e.maxInFlight !== undefined) parts.push(`${e.maxInFlight} at once`);
  return parts.join(', ');
}
