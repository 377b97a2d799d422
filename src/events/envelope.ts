import { InvalidEventError } from '../errors.ts';
import { EVENT_SCHEMAS, isEventType, type EventType } from './catalog.ts';

/** The spec's webhook envelope, checked against the catalog. */
export interface Envelope {
  event: EventType;
  /** As the producer wrote it (ISO 8601). */
  timestamp: string;
  /** Parsed `timestamp`, ms since the epoch. */
  timestampMs: number;
  data: Record<string, unknown>;
}

const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;

/**
 * Checks a decoded value against the envelope and the catalog. Throws `InvalidEventError` with a
 * bounded `reason`: not_object, missing_field, wrong_type, unknown_type, invalid_timestamp,
 * invalid_data.
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
  if (!isEventType(v.event)) throw new InvalidEventError('unknown_type', `unknown event type ${JSON.stringify(v.event.slice(0, 100))}`);
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
  const parsed = EVENT_SCHEMAS[v.event].safeParse(v.data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = issue.path.join('.');
    const missing = issue.path.length === 1 && (v.data as Record<string, unknown>)[String(issue.path[0])] === undefined;
    throw new InvalidEventError(
      missing ? 'missing_field' : 'invalid_data',
      `${v.event}: data.${path} ${missing ? 'is required' : issue.message}`,
    );
  }
  return { event: v.event, timestamp: v.timestamp, timestampMs: ts, data: v.data as Record<string, unknown> };
}

/** The webhook body: the spec's envelope as JSON bytes, built once per event. */
export function envelopeBody(envelope: Envelope): Buffer {
  return Buffer.from(JSON.stringify({ event: envelope.event, timestamp: envelope.timestamp, data: envelope.data }));
}
