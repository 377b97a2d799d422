import { parseArgs } from 'node:util';
import { EXIT_CODES_HELP, UsageError } from './cli-errors.ts';

export const PROGRAM = 'dialer-webhooks';

/** One `--option` of a command, with what its help says. */
export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  /** Placeholder in the help, e.g. `NAME`. String options only. */
  value?: string;
  description: string;
  /** Must be given (checked after `--help`, so `--help` always works). */
  required?: boolean;
  /** May be given more than once (string options): the values come as an array, see `stringValues`. */
  multiple?: boolean;
}

/** A command or subcommand: its options and positionals, and everything its `--help` shows. */
export interface CommandSpec {
  /** As typed after the program name, e.g. `endpoints add`. */
  name: string;
  /** One line, shown in the parent's command list. */
  summary: string;
  /** Positional arguments, e.g. `['NAME|ID']`; all required. */
  positionals?: readonly string[];
  options: Readonly<Record<string, OptionSpec>>;
  /** Paragraphs shown after the usage line. */
  description?: string;
  examples?: readonly string[];
}

export type ParsedValues = Record<string, string | string[] | boolean | undefined>;

export interface Parsed {
  help: boolean;
  values: ParsedValues;
  positionals: string[];
}

/** Options every command takes. */
export const COMMON_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  json: { type: 'boolean', description: 'print JSON (stable shapes, for scripts) instead of tables' },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
};

export function usageLine(spec: CommandSpec): string {
  const parts = [PROGRAM, spec.name, ...(spec.positionals ?? [])];
  for (const [name, o] of Object.entries(spec.options)) {
    if (o.required) parts.push(o.type === 'string' ? `--${name} ${o.value ?? 'VALUE'}` : `--${name}`);
  }
  parts.push('[options]');
  return `Usage: ${parts.join(' ')}`;
}

/** The full `--help` text of a command. */
export function helpText(spec: CommandSpec): string {
  const all = { ...spec.options, ...COMMON_OPTIONS };
  const rows = Object.entries(all).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : ''}--${name}${o.type === 'string' ? ` ${o.value ?? 'VALUE'}` : ''}`;
    return [flag, `${o.description}${o.required ? ' (required)' : ''}`] as const;
  });
  const width = Math.max(...rows.map(([f]) => f.length));
  const lines = [usageLine(spec), '', spec.summary];
  if (spec.description) lines.push('', spec.description);
  lines.push('', 'Options:', ...rows.map(([f, d]) => `  ${f.padEnd(width)}  ${d}`));
  if (spec.examples?.length) lines.push('', 'Examples:', ...spec.examples.map((e) => `  ${e}`));
  lines.push('', EXIT_CODES_HELP);
  return lines.join('\n') + '\n';
}

/** Help for a group of subcommands (`endpoints`, `deliveries`) or the program itself. */
export function groupHelpText(
  usage: string,
  summary: string,
  commands: ReadonlyArray<{ name: string; summary: string }>,
  footer?: string,
): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  const lines = [`Usage: ${usage}`, '', summary, '', 'Commands:', ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`)];
  if (footer) lines.push('', footer);
  lines.push('', EXIT_CODES_HELP);
  return lines.join('\n') + '\n';
}

/**
 * Parses a command's arguments with node:util parseArgs (strict: an unknown option or a missing
 * value is a usage error). `--help` wins over every other check.
 */
export function parseCommand(spec: CommandSpec, argv: readonly string[]): Parsed {
  const all = { ...spec.options, ...COMMON_OPTIONS };
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {};
  for (const [name, o] of Object.entries(all)) {
    options[name] = { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}) };
  }
  const usage = usageLine(spec);
  const helpCommand = `${PROGRAM} ${spec.name} --help`;
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (err) {
    if (argv.includes('--help') || argv.includes('-h')) return { help: true, values: {}, positionals: [] };
    throw new UsageError(parseArgsMessage(err), usage, helpCommand);
  }
  const values = parsed.values as ParsedValues;
  if (values.help) return { help: true, values, positionals: parsed.positionals };
  const expected = spec.positionals ?? [];
  if (parsed.positionals.length < expected.length) {
    throw new UsageError(`missing ${expected.slice(parsed.positionals.length).join(' ')}`, usage, helpCommand);
  }
  if (parsed.positionals.length > expected.length) {
    throw new UsageError(`unexpected argument ${JSON.stringify(parsed.positionals[expected.length])}`, usage, helpCommand);
  }
  for (const [name, o] of Object.entries(spec.options)) {
    if (o.required && (values[name] === undefined || values[name] === ''))
      throw new UsageError(`--${name} is required`, usage, helpCommand);
  }
  return { help: false, values, positionals: parsed.positionals };
}

function parseArgsMessage(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  // parseArgs messages carry advice meant for its own callers ("To specify a positional …"); keep the first sentence.
  return message.split('. ')[0]!.replace(/\.$/, '');
}

/** A string option's value, or undefined. */
export function stringValue(values: ParsedValues, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

/** A repeatable string option's values, in order; empty when not given. */
export function stringValues(values: ParsedValues, name: string): string[] {
  const v = values[name];
  return Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
}

/**
 * An event-type option's value (undefined when not given); a type outside the catalog (`catalog`:
 * the names in webhooks.event_types) is a usage error naming the valid ones.
 */
export function eventTypeValue(values: ParsedValues, name: string, command: string, catalog: readonly string[]): string | undefined {
  const v = stringValue(values, name);
  if (v === undefined || catalog.includes(v)) return v;
  throw new UsageError(`unknown event type ${JSON.stringify(v)}; valid types: ${catalog.join(', ')}`, null, `${PROGRAM} ${command} --help`);
}

const RELATIVE_RE = /^(\d+)\s*(s|m|h|d|w)$/;
const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };
const ISO_RE = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/** `30s`, `30m`, `1h`, `2d`, `1w` as seconds; null if not of that form. */
export function parseRelativeSeconds(text: string): number | null {
  const m = RELATIVE_RE.exec(text.trim());
  return m ? Number(m[1]) * UNIT_SECONDS[m[2]!]! : null;
}

/**
 * A `--since` value: relative to `nowMs` (`1h`, `30m`, `2d`) or an ISO 8601 date or date-time
 * (without a zone: UTC for a date, local time for a date-time, as `Date.parse` does).
 */
export function parseSince(option: string, text: string, nowMs: number): Date {
  const seconds = parseRelativeSeconds(text);
  if (seconds !== null) return new Date(nowMs - seconds * 1000);
  const trimmed = text.trim();
  const ms = ISO_RE.test(trimmed) ? Date.parse(trimmed.replace(' ', 'T')) : Number.NaN;
  if (Number.isNaN(ms)) {
    throw new UsageError(`--${option} ${JSON.stringify(text)} is neither a relative time (30m, 1h, 2d) nor an ISO 8601 date-time`);
  }
  return new Date(ms);
}

/** A whole number within bounds, or a usage error naming the option. */
export function parseIntegerOption(option: string, text: string, min: number, max: number): number {
  if (!/^\d+$/.test(text.trim())) throw new UsageError(`--${option} must be a whole number, got ${JSON.stringify(text)}`);
  const n = Number(text.trim());
  if (n < min || n > max) throw new UsageError(`--${option} must be between ${min} and ${max}, got ${n}`);
  return n;
}

/** `a,b , c` → `['a', 'b', 'c']`. */
export function parseList(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** A `--limit N` option of a list command: its help and its value (`fallback` when absent, 1 to `max`). */
export function limitOption(noun: string, fallback: number, max: number): { spec: OptionSpec; value(values: ParsedValues): number } {
  return {
    spec: { type: 'string', value: 'N', description: `at most N ${noun} (default ${fallback}, at most ${max})` },
    value(values) {
      const text = stringValue(values, 'limit');
      return text === undefined ? fallback : parseIntegerOption('limit', text, 1, max);
    },
  };
}
