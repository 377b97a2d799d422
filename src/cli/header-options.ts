import { stringValues, type OptionSpec, type ParsedValues } from './args.ts';
import { UsageError } from './cli-errors.ts';
import { headerProblem, maskedHeaders, type EndpointHeaders, type HeaderChanges, parseHeaderLine } from '../endpoints/endpoint-headers.ts';

// `--header`, `--remove-header` and `--clear-headers` of `endpoints add` and `endpoints update`.
// Header values are credentials: the CLI prints names with masked values only (even with
// --show-secrets: a header is write-only once stored; set it again to change it).

const HEADER: OptionSpec = {
  type: 'string',
  value: "'NAME: VALUE'",
  multiple: true,
  description: "extra request header sent with every attempt, e.g. 'Authorization: Bearer …' (repeatable)",
};

/** The header options of `endpoints add`. */
export const ADD_HEADER_OPTIONS: Readonly<Record<string, OptionSpec>> = { header: HEADER };

/** The header options of `endpoints update`. */
export const UPDATE_HEADER_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  header: { ...HEADER, description: "set or replace a request header (any case of the name), e.g. 'X-Api-Key: …' (repeatable)" },
  'remove-header': { type: 'string', value: 'NAME', multiple: true, description: 'remove a request header by name (repeatable)' },
  'clear-headers': { type: 'boolean', description: 'remove every request header (then --header adds new ones)' },
};

/** `--header` values as headers; a bad one is a usage error naming it (never its value). */
export function headersOption(values: ParsedValues, command: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of stringValues(values, 'header')) {
    let name: string;
    let value: string;
    try {
      [name, value] = parseHeaderLine(line);
    } catch (err) {
      throw new UsageError(`--header: ${(err as Error).message}`, null, `dialer-webhooks ${command} --help`);
    }
    const same = Object.keys(headers).find((n) => n.toLowerCase() === name.toLowerCase());
    if (same !== undefined) throw new UsageError(`--header ${name} is given twice`, null, `dialer-webhooks ${command} --help`);
    headers[name] = value;
  }
  return headers;
}

/** The header change of `endpoints update`, or undefined when no header option was given. */
export function headerChangesOption(values: ParsedValues): HeaderChanges | undefined {
  const set = headersOption(values, 'endpoints update');
  const remove = stringValues(values, 'remove-header').map((n) => n.trim());
  for (const name of remove) {
    const problem = headerProblem(name, 'x');
    if (problem !== null) throw new UsageError(`--remove-header: ${problem}`, null, 'dialer-webhooks endpoints update --help');
  }
  const clear = values['clear-headers'] === true;
  if (!clear && remove.length === 0 && Object.keys(set).length === 0) return undefined;
  return { set, remove, clear };
}

/** `Authorization: Bearer ****, X-Tenant: ****` (sorted by name); empty when none. */
export function maskedHeaderList(headers: EndpointHeaders | undefined): string {
  return Object.entries(maskedHeaders(headers ?? {}))
    .map(([name, value]) => `${name}: ${value}`)
    .join(', ');
}
