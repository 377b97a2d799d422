/**
 * The spec's nine event types and the sample data migration 0006 seeds for them: fixtures for
 * tests (test/integration/event-catalog.test.ts checks the seeded catalog equals them).
 */
export const SPEC_EVENT_TYPES: readonly string[] = [
  'call.started',
  'call.ended',
  'agent.login',
  'agent.logout',
  'agent.pause',
  'agent.resume',
  'lead.updated',
  'recording.ready',
  'alert.triggered',
];

export const SAMPLE_DATA: Readonly<Record<string, Readonly<Record<string, unknown>>>> = {
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
