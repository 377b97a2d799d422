/** A call.ended envelope and its schema in each registry format, shared by the registry tests. */
export const callEnded = {
  event: 'call.ended',
  timestamp: '2026-03-07T15:30:00Z',
  data: {
    call_id: '12345',
    agent: 'jsmith',
    phone_number: '5551234567',
    duration: 180,
    disposition: 'SALE',
    campaign: 'Q1-Sales',
  },
};

export const avroSchema = {
  type: 'record',
  name: 'CallEnded',
  namespace: 'dialer.events',
  fields: [
    { name: 'event', type: 'string' },
    { name: 'timestamp', type: 'string' },
    {
      name: 'data',
      type: {
        type: 'record',
        name: 'CallEndedData',
        fields: [
          { name: 'call_id', type: 'string' },
          { name: 'agent', type: 'string' },
          { name: 'phone_number', type: 'string' },
          { name: 'duration', type: 'long' },
          { name: 'disposition', type: { type: 'enum', name: 'Disposition', symbols: ['SALE', 'NO_ANSWER', 'BUSY'] } },
          { name: 'campaign', type: 'string' },
        ],
      },
    },
  ],
};

export const jsonSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'CallEnded',
  type: 'object',
  required: ['event', 'timestamp', 'data'],
  properties: {
    event: { const: 'call.ended' },
    // Ajv 7 in strict mode rejects unknown formats: the decoder must still accept this schema.
    timestamp: { type: 'string', format: 'date-time' },
    data: {
      type: 'object',
      required: ['call_id', 'agent', 'phone_number', 'duration', 'disposition', 'campaign'],
      properties: {
        call_id: { type: 'string' },
        agent: { type: 'string' },
        phone_number: { type: 'string' },
        duration: { type: 'integer' },
        disposition: { type: 'string' },
        campaign: { type: 'string' },
      },
    },
  },
};

export const protoMessages = {
  envelope: `message CallEnded {
  string event = 1;
  string timestamp = 2;
  CallEndedData data = 3;
}`,
  data: `message CallEndedData {
  string call_id = 1;
  string agent = 2;
  string phone_number = 3;
  int64 duration = 4;
  Disposition disposition = 5;
  string campaign = 6;
}`,
  disposition: `enum Disposition {
  DISPOSITION_UNSPECIFIED = 0;
  SALE = 1;
  NO_ANSWER = 2;
}`,
};
/** The envelope is the file's first message, so the library's encode writes it. */
export const protoSchema = `syntax = "proto3";
package dialer.events;

${protoMessages.envelope}

${protoMessages.data}

${protoMessages.disposition}
`;
/** The envelope is the second message: only Confluent's message-index framing can select it. */
export const protoSchemaEnvelopeSecond = `syntax = "proto3";
package dialer.events.v2;

${protoMessages.data}

${protoMessages.envelope}

${protoMessages.disposition}
`;

// What the library's Protobuf encode needs to write callEnded: its protobufjs parse renames
// fields to camelCase (snake_case keys are silently dropped, not rejected) and its verify wants
// enum numbers. The bytes on the wire carry field numbers only, so the decoder still returns the
// .proto's own names.
export const callEndedForProtobuf = {
  event: callEnded.event,
  timestamp: callEnded.timestamp,
  data: {
    callId: callEnded.data.call_id,
    agent: callEnded.data.agent,
    phoneNumber: callEnded.data.phone_number,
    duration: callEnded.data.duration,
    disposition: 1,
    campaign: callEnded.data.campaign,
  },
};
