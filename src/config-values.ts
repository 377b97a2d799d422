import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { variableNames } from './db/migrator.ts';
import { ConfigError } from './errors.ts';

// Parsers for src/config.ts: each reads one variable from the environment it is given (never
// process.env itself) and throws ConfigError naming it.

export type Env = Record<string, string | undefined>;

export function read(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

export function str(env: Env, name: string, def: string): string {
  return read(env, name) ?? def;
}

export function int(env: Env, name: string, def: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const raw = read(env, name);
  if (raw === undefined) return def;
  if (!/^-?\d+$/.test(raw)) throw new ConfigError(name, `expected a whole number, got ${JSON.stringify(raw)}`);
  const n = Number(raw);
  if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${n}`);
  return n;
}

export function bool(env: Env, name: string, def: boolean): boolean {
  const raw = read(env, name);
  if (raw === undefined) return def;
  const v = raw.toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  throw new ConfigError(name, `expected true or false, got ${JSON.stringify(raw)}`);
}

export function list(env: Env, name: string, def: string): string[] {
  const items = str(env, name, def)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (items.length === 0) throw new ConfigError(name, 'must name at least one item');
  return items;
}

export function oneOf<T extends string>(env: Env, name: string, def: T, allowed: readonly T[]): T {
  const raw = read(env, name)?.toLowerCase() ?? def;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(name, `expected one of ${allowed.join(', ')}, got ${JSON.stringify(raw)}`);
  }
  return raw as T;
}

/** Parses `250ms`, `5s`, `2m` or a bare number of milliseconds. */
export function parseDuration(text: string): number | null {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/.exec(text.trim());
  if (!m) return null;
  const unit = m[2] ?? 'ms';
  const factor = unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'm' ? 60_000 : 3_600_000;
  return Math.round(Number(m[1]) * factor);
}

export function durations(env: Env, name: string, def: string): number[] {
  const items = list(env, name, def);
  return items.map((item) => {
    const ms = parseDuration(item);
    if (ms === null || ms <= 0) throw new ConfigError(name, `${JSON.stringify(item)} is not a positive duration like 5s, 250ms or 2m`);
    return ms;
  });
}

/** One duration (see parseDuration), at least `minMs`; 0, where allowed, means "off" to the caller. */
export function duration(env: Env, name: string, def: string, minMs = 0): number {
  const raw = str(env, name, def);
  const ms = parseDuration(raw);
  if (ms === null) throw new ConfigError(name, `${JSON.stringify(raw)} is not a duration like 24h, 30m, 5s or 250ms`);
  if (ms < minMs) throw new ConfigError(name, `must be at least ${minMs} ms, got ${JSON.stringify(raw)}`);
  return ms;
}

/**
 * A topic name that defaults to `def` when the variable is absent; set but empty, it is null
 * (the feature it names is off).
 */
export function topicOrOff(env: Env, name: string, def: string): string | null {
  if (env[name] === undefined) return def;
  const topic = env[name].trim();
  if (topic === '') return null;
  if (!TOPIC_RE.test(topic)) throw new ConfigError(name, `${JSON.stringify(topic)} is not a valid Kafka topic name`);
  return topic;
}

export const TOPIC_RE = /^[a-zA-Z0-9._-]{1,200}$/;

export function url(env: Env, name: string, def: string | null, protocols: string[]): string | null {
  const raw = read(env, name) ?? def;
  if (raw === null) return null;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(name, `not a URL: ${JSON.stringify(raw.replace(/\/\/[^@/]*@/, '//***@'))}`);
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(name, `expected a ${protocols.join(' or ')} URL, got ${parsed.protocol}`);
  }
  return raw;
}

// An unreadable folder names no variables here: the migrator reports it when it reads the files.
export function adminVariables(env: Env, dir: string | undefined): Record<string, string> {
  if (dir === undefined) return {};
  const out: Record<string, string> = {};
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.sql'));
  } catch {
    return out;
  }
  for (const name of names) {
    let sql: string;
    try {
      sql = readFileSync(join(dir, name), 'utf8');
    } catch {
      continue;
    }
    for (const variable of variableNames(sql)) {
      const value = env[variable];
      if (value !== undefined) out[variable] = value;
    }
  }
  return out;
}

export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
