import type { EventTypeDefinition } from './catalog.ts';
import { envelopeBody, validateEnvelope, type Envelope } from './envelope.ts';

// A test event's `data` is the catalog's `sample_data` for its type (migration 0006 seeds one for
// each spec type, `call.ended` being the spec's own example), so a type an admin adds has one too.

/** A sample event of `type` stamped `at`. */
export function sampleEnvelope(type: Pick<EventTypeDefinition, 'name' | 'sampleData'>, at: Date): Envelope {
  return validateEnvelope({ event: type.name, timestamp: at.toISOString().replace(/\.\d{3}Z$/, 'Z'), data: type.sampleData });
}

/** The body bytes of a sample event, exactly as the dispatcher would build them. */
export function sampleBody(type: Pick<EventTypeDefinition, 'name' | 'sampleData'>, at: Date): Buffer {
  return envelopeBody(sampleEnvelope(type, at));
}
