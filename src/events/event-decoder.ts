import { InvalidEventError } from '../errors.ts';
import type { EventCatalog } from './catalog.ts';
import { validateEnvelope, type Envelope } from './envelope.ts';
import { isWireFormat, type RegistryDecoder } from './registry-decoder.ts';

export interface EventDecoderOptions {
  /** Larger values are invalid (`too_large`). */
  maxEventBytes: number;
  /** Decodes Confluent wire-format values; null when no registry is configured. */
  registry: RegistryDecoder | null;
  /** The catalog at the time of each event (the dispatcher's cache): types and `data` schemas. */
  catalog: () => EventCatalog;
}

export type EventDecoder = (value: Buffer | null) => Promise<Envelope>;

/**
 * Turns a Kafka message value into a checked envelope: plain JSON, or Confluent wire format
 * through the schema registry. Poison throws `InvalidEventError`; a registry outage throws
 * `TransientError` (from the registry decoder) so the caller backs off and tries again.
 */
export function createEventDecoder(options: EventDecoderOptions): EventDecoder {
  return async (value) => {
    if (value === null) throw new InvalidEventError('null_value', 'message value is null (a tombstone?)');
    if (value.length === 0) throw new InvalidEventError('empty_value', 'message value is empty');
    if (value.length > options.maxEventBytes) {
      throw new InvalidEventError(
        'too_large',
        `message value is ${value.length} bytes, over the ${options.maxEventBytes}-byte limit (MAX_EVENT_BYTES)`,
      );
    }
    let decoded: unknown;
    if (isWireFormat(value)) {
      if (!options.registry) {
        throw new InvalidEventError(
          'registry_not_configured',
          'value is in schema-registry wire format but SCHEMA_REGISTRY_URL is not set',
        );
      }
      decoded = await options.registry.decode(value);
    } else {
      try {
        decoded = JSON.parse(value.toString('utf8'));
      } catch (err) {
        throw new InvalidEventError('invalid_json', `value is not valid JSON: ${(err as Error).message.slice(0, 200)}`, { cause: err });
      }
    }
    const envelope = validateEnvelope(decoded);
    options.catalog().check(envelope.event, envelope.data);
    // A schema-registry value can grow when decoded (defaults filled in): the body must still fit.
    if (envelope.body.length > options.maxEventBytes) {
      throw new InvalidEventError(
        'too_large',
        `the decoded event is ${envelope.body.length} bytes as JSON, over the ${options.maxEventBytes}-byte limit (MAX_EVENT_BYTES)`,
      );
    }
    return envelope;
  };
}
