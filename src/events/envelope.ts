import { MAX_EVENT_DEPTH } from '../config.ts';
import { InvalidEventError } from '../errors.ts';
import type { EventType } from './catalog.ts';

/** The spec's webhook envelope. Its `data` is checked against the catalog by the decoder. */
export interface Envelope {
  event: EventType;
  /** As the producer wrote it (ISO 8601). */
  timestamp: string;
  /** Parsed `timestamp`, ms since the epoch. */
  timestampMs: number;
  data: Record<string, unknown>;
  /** The webhook body: the envelope as JSON bytes, built once here so it cannot fail later. */
  body: Buffer;
}

const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;

/**
 * Checks a decoded value against the envelope (not the catalog: `EventCatalog.check` does that).
 * Throws `InvalidEventError` with a bounded `reason`: not_object, missing_field, wrong_type,
 * invalid_timestamp, too_deep, unencodable. Whatever in one event's value could fail later (the body
 * is encoded here) fails here, as poison.
 */
export function validateEnvelope(value: unknown): Envelope {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidEventError(
      'not_object',
      `event must be a JSON object, got ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}`,
    );
  }
  const v = value as Record<string, unknown>;
  for (const field of ['event', 'timestamp', 'data'] as const) {
    if (!(field in v) || v[field] === undefined || v[field] === null) {
      throw new InvalidEventError('missing_field', `envelope field "${field}" is missing`);
    }
  }
  if (typeof v.event !== 'string') throw new InvalidEventError('wrong_type', `"event" must be a string, got ${typeof v.event}`);
  if (typeof v.timestamp !== 'string')
    throw new InvalidEventError('wrong_type', `"timestamp" must be an ISO 8601 string, got ${typeof v.timestamp}`);
  const ts = Date.parse(v.timestamp);
  if (!ISO_8601.test(v.timestamp) || Number.isNaN(ts)) {
    throw new InvalidEventError(
      'invalid_timestamp',
      `"timestamp" ${JSON.stringify(v.timestamp.slice(0, 60))} is not an ISO 8601 date-time`,
    );
  }
  if (typeof v.data !== 'object' || Array.isArray(v.data)) {
    throw new InvalidEventError('wrong_type', `"data" must be an object, got ${Array.isArray(v.data) ? 'an array' : typeof v.data}`);
  }
  if (nestedDeeperThan(v.data, MAX_EVENT_DEPTH)) {
    throw new InvalidEventError('too_deep', `"data" is nested more than ${MAX_EVENT_DEPTH} levels deep`);
  }
  const data = v.data as Record<string, unknown>;
  let body: Buffer;
  try {
    body = Buffer.from(JSON.stringify({ event: v.event, timestamp: v.timestamp, data }));
  } catch (err) {
    throw new InvalidEventError('unencodable', `the event cannot be encoded as JSON: ${(err as Error).message.slice(0, 200)}`, {
      cause: err,
    });
  }
  return { event: v.event, timestamp: v.timestamp, timestampMs: ts, data, body };
}

/** The webhook body: the spec's envelope as JSON bytes. */
export function envelopeBody(envelope: Envelope): Buffer {
  return envelope.body;
}

/**
 * True when `value` holds objects or arrays nested deeper than `max` (the value itself is level
 * 1). The recursion stops at level `max + 1`, so a hostile depth cannot overflow the stack; and it
 * allocates nothing (it runs on every event: no stack of pairs, no array of values per object).
 */
export function nestedDeeperThan(value: unknown, max: number): boolean {
  return deeperThan(value, 1, max);
}

function deeperThan(value: unknown, depth: number, max: number): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (depth > max) return true;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const child: unknown = value[i];
      if (child !== null && typeof child === 'object' && deeperThan(child, depth + 1, max)) return true;
    }
    return false;
  }
  const record = value as Record<string, unknown>;
  for (const key in record) {
    if (!Object.hasOwn(record, key)) continue;
    const child = record[key];
    if (child !== null && typeof child === 'object' && deeperThan(child, depth + 1, max)) return true;
  }
  return false;
}
