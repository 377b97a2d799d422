// A demo producer for docker-compose.yml's `demo` profile (run with the service's image:
// `node demo/producer.ts`): writes one example event of each of the nine types to the input topic
// as plain JSON, the spec's `call.ended` example among them, then exits.
//
// Environment: KAFKA_BROKERS (kafka:9092), TOPIC (dialer.events), ROUNDS (1: how many times the
// nine are sent), INTERVAL_MS (1000: pause between rounds).
import { Kafka, Partitioners, logLevel } from 'kafkajs';

const brokers = (process.env.KAFKA_BROKERS ?? 'kafka:9092').split(',').map((b) => b.trim());
const topic = process.env.TOPIC ?? 'dialer.events';
const rounds = Number(process.env.ROUNDS ?? 1);
const intervalMs = Number(process.env.INTERVAL_MS ?? 1000);

type Example = { event: string; data: Record<string, unknown> };

// The spec's example payload first, then one of each other type with the fields the event
// catalog (src/events/catalog.ts) expects.
const examples: Example[] = [
  {
    event: 'call.ended',
    data: {
      call_id: '12345',
      agent: 'jsmith',
      phone_number: '5551234567',
      duration: 180,
      disposition: 'SALE',
      campaign: 'Q1-Sales',
    },
  },
  { event: 'call.started', data: { call_id: '12346', agent: 'jsmith', phone_number: '5559876543', campaign: 'Q1-Sales' } },
  { event: 'agent.login', data: { agent: 'jsmith', state: 'ready' } },
  { event: 'agent.pause', data: { agent: 'jsmith', state: 'paused', reason: 'break' } },
  { event: 'agent.resume', data: { agent: 'jsmith', state: 'ready' } },
  { event: 'agent.logout', data: { agent: 'jsmith', state: 'offline' } },
  { event: 'lead.updated', data: { lead_id: 'L-2001', changes: { status: 'contacted', phone_number: '5551234567' } } },
  {
    event: 'recording.ready',
    data: { recording_id: 'R-9001', call_id: '12345', url: 'https://recordings.example.com/R-9001.mp3' },
  },
  { event: 'alert.triggered', data: { alert: 'abandon_rate', threshold: 0.05, value: 0.08 } },
];

const kafka = new Kafka({ clientId: 'dialer-webhooks-demo-producer', brokers, logLevel: logLevel.WARN });
// The dispatcher creates its input topics at start; creating it here too (if missing) lets the
// producer run first without relying on the broker's auto-creation.
const admin = kafka.admin();
await admin.connect();
try {
  await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
} finally {
  await admin.disconnect();
}
const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
await producer.connect();
try {
  for (let round = 1; round <= rounds; round++) {
    const timestamp = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    const messages = examples.map((e) => ({
      key: String(e.data.call_id ?? e.data.agent ?? e.data.lead_id ?? e.data.alert ?? e.event),
      value: JSON.stringify({ event: e.event, timestamp, data: e.data }),
    }));
    await producer.send({ topic, acks: -1, messages });
    console.log(
      `producer: round ${round}/${rounds}: sent ${messages.length} events to ${topic}: ${examples.map((e) => e.event).join(', ')}`,
    );
    if (round < rounds) await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
} finally {
  await producer.disconnect();
}
