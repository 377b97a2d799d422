import type { EventType } from './catalog.ts';
import { envelopeBody, validateEnvelope, type Envelope } from './envelope.ts';

/**
 * A realistic `data` object for each event type of the catalog (`call.ended` is the product
 * spec's own example), for test events (`endpoints test`, the web admin's "Send test event").
 * The mapped type makes a new catalog type a compile error here until it has a sample.
 */
export const SAMPLE_DATA: { readonly [T in EventType]: Readonly<Record<string, unknown>> } = {
  'call.started': { call_id: '12345', agent: 'jsmith', phone_number: '5551234567', campaign: 'Q1-Sales' },
  'call.ended': { call_id: '12345', agent: 'jsmith', phone_number: '5551234567', duration: 180, disposition: 'SALE', campaign: 'Q1-Sales' },
  'agent.login': { agent: 'jsmith', state: 'ready' },
  'agent.logout': { agent: 'jsmith', state: 'logged_out' },
  'agent.pause': { agent: 'jsmith', state: 'paused', reason: 'break' },
  'agent.resume': { agent: 'jsmith', state: 'ready' },
  'lead.updated': { lead_id: '98765', changes: { status: 'contacted', phone_number: '5551234567' } },
  'recording.ready': { recording_id: 'rec-12345', call_id: '12345', url: 'https://recordings.example.com/rec-12345.mp3' },
  'alert.triggered': { alert: 'abandon_rate', threshold: 5, value: 9.2 },
};

/** A sample event of `type` stamped `at`, checked against the catalog like a real one. */
export function sampleEnvelope(type: EventType, at: Date): Envelope {
  return validateEnvelope({ event: type, timestamp: at.toISOString().replace(/\.\d{3}Z$/, 'Z'), data: SAMPLE_DATA[type] });
}

/** The body bytes of a sample event, exactly as the dispatcher would build them. */
export function sampleBody(type: EventType, at: Date): Buffer {
  return envelopeBody(sampleEnvelope(type, at));
}
