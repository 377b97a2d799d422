import { WebhooksError } from '../errors.ts';

/**
 * Payload filters: an endpoint's `filter` (jsonb) is matched against the event's envelope
 * (`event`, `timestamp`, `data`), with dotted paths such as `data.campaign`. Mongo-like:
 *
 *   {"data.campaign": {"$in": ["Q1-Sales"]}, "data.duration": {"$gte": 60}}
 *
 * Keys of a filter are paths (all must hold) or `$and`/`$or` (arrays of filters) or `$not` (a
 * filter). A path's condition is a literal (equality) or an object of operators `$eq $ne $in $nin
 * $gt $gte $lt $lte $exists $not`. The database trigger (migration 0007) refuses what `compileFilter`
 * refuses, with the same messages, so a stored filter always compiles.
 */

export class FilterError extends WebhooksError {
  override readonly code = 'WH_BAD_FILTER';
}

export type EnvelopeLike = { event: string; timestamp: string; data: Record<string, unknown> };
export type FilterPredicate = (envelope: EnvelopeLike) => boolean;

const PATH = /^(event|timestamp|data(\.[^.\s$][^.\s]*)*)$/;
type Comparison = '$gt' | '$gte' | '$lt' | '$lte';
const FIELD_OPERATORS = new Set(['$eq', '$ne', '$in', '$nin', '$gt', '$gte', '$lt', '$lte', '$exists', '$not']);

type Get = (envelope: EnvelopeLike) => unknown;
type Test = (value: unknown) => boolean;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Compiles a stored filter; throws `FilterError` naming the operator or path at fault. */
export function compileFilter(filter: unknown): FilterPredicate {
  return compileNode(filter, 'filter');
}

function compileNode(node: unknown, at: string): FilterPredicate {
  if (!isPlainObject(node)) throw new FilterError(`${at} must be a JSON object of paths and conditions`);
  const parts: FilterPredicate[] = [];
  for (const [key, value] of Object.entries(node)) {
    if (key === '$and' || key === '$or') {
      if (!Array.isArray(value) || value.length === 0) throw new FilterError(`${at}: ${key} must be a non-empty array of filters`);
      const subs = value.map((v, i) => compileNode(v, `${at}.${key}[${i}]`));
      parts.push(key === '$and' ? (e) => subs.every((s) => s(e)) : (e) => subs.some((s) => s(e)));
    } else if (key === '$not') {
      const sub = compileNode(value, `${at}.$not`);
      parts.push((e) => !sub(e));
    } else if (key.startsWith('$')) {
      throw new FilterError(`${at}: unknown operator ${key} (use $and, $or, $not, or a path such as data.campaign)`);
    } else {
      if (!PATH.test(key)) {
        throw new FilterError(`${at}: path "${key}" must be event, timestamp or start with data. (e.g. data.campaign)`);
      }
      const get = getter(key);
      const t = compileCondition(value, `${at}["${key}"]`, key);
      parts.push((e) => t(get(e)));
    }
  }
  return (e) => parts.every((p) => p(e));
}

function getter(path: string): Get {
  const segments = path.split('.');
  return (envelope) => {
    let v: unknown = envelope;
    for (const s of segments) {
      if (!isPlainObject(v) || !Object.hasOwn(v, s)) return undefined;
      v = v[s];
    }
    return v;
  };
}

function compileCondition(condition: unknown, at: string, path: string): Test {
  const operatorKeys = isPlainObject(condition) ? Object.keys(condition).filter((k) => k.startsWith('$')) : [];
  if (!isPlainObject(condition) || operatorKeys.length === 0) {
    if (isPlainObject(condition) && Object.keys(condition).length === 0) throw new FilterError(`${at}: an empty condition for ${path}`);
    return (v) => jsonEqual(v, condition);
  }
  if (operatorKeys.length !== Object.keys(condition).length) {
    throw new FilterError(`${at}: mixes operators and fields; write {"$eq": {...}} to match an object`);
  }
  const tests: Test[] = [];
  for (const [op, arg] of Object.entries(condition)) {
    if (!FIELD_OPERATORS.has(op)) {
      throw new FilterError(`${at}: unknown operator ${op} (valid: ${[...FIELD_OPERATORS].join(' ')})`);
    }
    switch (op) {
      case '$eq':
        tests.push((v) => jsonEqual(v, arg));
        break;
      case '$ne':
        tests.push((v) => !jsonEqual(v, arg));
        break;
      case '$in':
      case '$nin': {
        if (!Array.isArray(arg)) throw new FilterError(`${at}: ${op} must be an array of values`);
        const inList: Test = (v) => arg.some((a) => jsonEqual(v, a));
        tests.push(op === '$in' ? inList : (v) => !inList(v));
        break;
      }
      case '$exists':
        if (typeof arg !== 'boolean') throw new FilterError(`${at}: $exists must be true or false`);
        tests.push(arg ? (v) => v !== undefined : (v) => v === undefined);
        break;
      case '$not': {
        if (!isPlainObject(arg)) throw new FilterError(`${at}: $not must be an object of operators, e.g. {"$in": [...]}`);
        const sub = compileCondition(arg, `${at}.$not`, path);
        tests.push((v) => !sub(v));
        break;
      }
      default: {
        if (typeof arg !== 'number' && typeof arg !== 'string') throw new FilterError(`${at}: ${op} must be a number or a string`);
        tests.push(comparison(op as Comparison, arg));
      }
    }
  }
  return (v) => tests.every((t) => t(v));
}

// Numbers compare with numbers, strings with strings (ISO timestamps order as text); anything
// else does not match, as a missing field does not.
function comparison(op: Comparison, arg: number | string): Test {
  return (v) => {
    if (typeof v !== typeof arg) return false;
    const a = v as number | string;
    switch (op) {
      case '$gt':
        return a > arg;
      case '$gte':
        return a >= arg;
      case '$lt':
        return a < arg;
      case '$lte':
        return a <= arg;
    }
  };
}

function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => Object.hasOwn(b, k) && jsonEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}
