import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { randomUUID } from 'node:crypto';
import type { Service } from '../../src/service.ts';
import { avroSchema, callEnded, callEndedForProtobuf, jsonSchema, protoSchema } from '../support/call-ended-schemas.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { openTestKafka, type TestKafka } from '../support/kafka.ts';
import { waitFor } from '../support/wait-for.ts';
import { TestReceiver } from '../support/receiver.ts';
import { startTestService, testEnv } from '../support/service.ts';
import { TcpProxy } from '../support/tcp-proxy.ts';

const registryUrl = new URL(process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081/apis/ccompat/v7');
const SECRET = 'whsec_' + Buffer.alloc(32, 5).toString('base64');
const run = randomUUID();

let db: TestDatabase;
let kafka: TestKafka;
let receiver: TestReceiver;
let service: Service;
let proxy: TcpProxy;
let input: string;
const registry = new SchemaRegistry(
  { host: registryUrl.toString().replace(/\/$/, '') },
  { [SchemaType.JSON]: { strict: false, logger: false } },
);

before(async () => {
  db = await createTestDatabase('formats');
  kafka = await openTestKafka('formats');
  receiver = await TestReceiver.start();
  proxy = new TcpProxy({ host: registryUrl.hostname, port: Number(registryUrl.port) });
  await proxy.start();
  await db.db
    .insertInto('webhooks.endpoints')
    .values({ name: 'all', url: receiver.route('/all', SECRET), secret: SECRET, event_types: ['*'] })
    .execute();
  const env = testEnv(db.url, 'formats', { SCHEMA_REGISTRY_URL: `http://127.0.0.1:${proxy.port}${registryUrl.pathname}` });
  input = env.INPUT_TOPICS!;
  // A 5 MiB value must reach the dispatcher to be judged too large, so the topic accepts it.
  await kafka.admin.createTopics({
    topics: [
      {
        topic: input,
        numPartitions: 3,
        replicationFactor: 1,
        configEntries: [{ name: 'max.message.bytes', value: String(8 * 1024 * 1024) }],
      },
    ],
    waitForLeaders: true,
  });
  service = await startTestService(env);
});

after(async () => {
  await service?.stop();
  await proxy?.stop();
  await receiver?.close();
  await kafka?.close();
  await db?.drop();
});

async function registerAll(suffix: string): Promise<{ avro: number; json: number; protobuf: number }> {
  const avro = await registry.register(
    { type: SchemaType.AVRO, schema: JSON.stringify({ ...avroSchema, doc: `CallEnded ${suffix}` }) },
    { subject: `fmt-avro-${run}-${suffix}` },
  );
  const json = await registry.register(
    { type: SchemaType.JSON, schema: JSON.stringify({ ...jsonSchema, title: `CallEnded${suffix}` }) },
    { subject: `fmt-json-${run}-${suffix}` },
  );
  const protobuf = await registry.register(
    { type: SchemaType.PROTOBUF, schema: protoSchema.replace('package dialer.events;', `package dialer.events.s${suffix};`) },
    { subject: `fmt-proto-${run}-${suffix}` },
  );
  return { avro: avro.id, json: json.id, protobuf: protobuf.id };
}

test('Avro, JSON Schema, Protobuf and plain JSON each reach the endpoint as the same JSON envelope', async () => {
  const ids = await registerAll('a');
  const values: Array<[string, Buffer]> = [
    ['avro', await registry.encode(ids.avro, callEnded)],
    ['json-schema', await registry.encode(ids.json, callEnded)],
    ['protobuf', await registry.encode(ids.protobuf, callEndedForProtobuf)],
    ['plain', Buffer.from(JSON.stringify(callEnded))],
  ];
  await kafka.produce(
    input,
    values.map(([format, value]) => ({ value, headers: { 'event-id': `fmt-${format}` } })),
  );
  await receiver.waitFor((r) => r.length >= 4, 30_000, 'four deliveries');
  const bodies = receiver.requests.map((r) => r.body.toString());
  assert.equal(new Set(bodies).size, 1, `the four bodies are byte-identical:\n${bodies.join('\n')}`);
  assert.deepEqual(JSON.parse(bodies[0]!), callEnded);
  for (const r of receiver.requests) assert.ok(r.specSignatureValid && r.standardSignatureValid);
});

test('with the registry unreachable, consumption waits and resumes when it returns, skipping nothing', async () => {
  const ids = await registerAll('b'); // new schema ids: nothing cached yet
  const before = receiver.requests.length;
  const invalidBefore = await service.metrics.registry.getSingleMetricAsString('webhooks_events_invalid_total');
  proxy.cut();
  await kafka.produce(input, [
    { value: await registry.encode(ids.avro, { ...callEnded, data: { ...callEnded.data, call_id: 'outage-1' } }) },
    { value: await registry.encode(ids.json, { ...callEnded, data: { ...callEnded.data, call_id: 'outage-2' } }) },
    { value: await registry.encode(ids.protobuf, { ...callEndedForProtobuf, data: { ...callEndedForProtobuf.data, callId: 'outage-3' } }) },
  ]);
  // The dispatcher tries again and again (backing off) while the registry is unreachable.
  await waitFor(() => proxy.refused >= 6, { what: 'repeated attempts to reach the registry', timeoutMs: 20_000 });
  assert.ok(service.input.inFlight >= 1, 'the events wait, unsettled');
  assert.equal(receiver.requests.length, before, 'nothing delivered while the registry is down');
  proxy.heal();
  await receiver.waitFor((r) => r.length >= before + 3, 30_000, 'the three events after the registry returns');
  const got = receiver.requests
    .slice(before)
    .map((r) => r.json.data.call_id)
    .sort();
  assert.deepEqual(got, ['outage-1', 'outage-2', 'outage-3']);
  assert.equal(
    await service.metrics.registry.getSingleMetricAsString('webhooks_events_invalid_total'),
    invalidBefore,
    'nothing went to the invalid topic',
  );
});

test('poison of every kind goes to the invalid topic with its reason, interleaved good events are all delivered', async () => {
  const ids = await registerAll('c');
  const good = (n: number): Buffer => Buffer.from(JSON.stringify({ ...callEnded, data: { ...callEnded.data, call_id: `good-${n}` } }));
  const wire = (schemaId: number, payload: Buffer): Buffer => {
    const header = Buffer.alloc(5);
    header.writeUInt32BE(schemaId, 1);
    return Buffer.concat([header, payload]);
  };
  const avroGood = await registry.encode(ids.avro, callEnded);
  const corpus: Array<[string, Buffer | null, string]> = [
    ['truncated JSON', Buffer.from('{"event":"call.ended","timestamp":"2026-03-07T15:30:00Z","data":{"call_id":'), 'invalid_json'],
    ['wrong type of event', Buffer.from(JSON.stringify({ ...callEnded, event: 42 })), 'wrong_type'],
    ['unknown event type', Buffer.from(JSON.stringify({ ...callEnded, event: 'call.exploded' })), 'unknown_type'],
    ['empty value', Buffer.alloc(0), 'empty_value'],
    ['null value', null, 'null_value'],
    [
      '5 MiB value',
      Buffer.from(JSON.stringify({ ...callEnded, data: { ...callEnded.data, blob: 'x'.repeat(5 * 1024 * 1024) } })),
      'too_large',
    ],
    ['wrong magic byte', Buffer.concat([Buffer.from([1]), avroGood.subarray(1)]), 'invalid_json'],
    ['unknown schema id', wire(999_999_999, Buffer.from([2, 4, 6])), 'unknown_schema'],
    ['undecodable bytes for a known schema', wire(ids.avro, Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff])), 'undecodable'],
    ['a JSON array', Buffer.from('[1,2,3]'), 'not_object'],
    ['a JSON number', Buffer.from('42'), 'not_object'],
    ['JSON null', Buffer.from('null'), 'not_object'],
    ['missing data', Buffer.from(JSON.stringify({ event: 'call.ended', timestamp: callEnded.timestamp })), 'missing_field'],
    ['missing required data field', Buffer.from(JSON.stringify({ ...callEnded, data: { agent: 'jsmith' } })), 'missing_field'],
    ['bad timestamp', Buffer.from(JSON.stringify({ ...callEnded, timestamp: 'last tuesday' })), 'invalid_timestamp'],
    ['data that is not an object', Buffer.from(JSON.stringify({ ...callEnded, data: 'call ended' })), 'wrong_type'],
    ['binary garbage', Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00, 0x01]), 'invalid_json'],
    ['text that is not JSON', Buffer.from('call ended, agent jsmith'), 'invalid_json'],
  ];
  const before = receiver.requests.length;
  const messages: Array<{ value: Buffer | null; headers: Record<string, string> }> = [];
  corpus.forEach(([name, value], i) => {
    messages.push({ value: good(i), headers: { 'event-id': `poison-good-${i}` } });
    messages.push({ value, headers: { 'event-id': `poison-bad-${i}`, 'x-case': name } });
  });
  for (const m of messages) await kafka.produce(input, [m]); // one by one: the 5 MiB value travels alone

  await receiver.waitFor((r) => r.length >= before + corpus.length, 60_000, 'every good event');
  const delivered = receiver.requests
    .slice(before)
    .map((r) => r.json.data.call_id)
    .sort();
  assert.deepEqual(delivered, corpus.map((_, i) => `good-${i}`).sort());

  const invalid = await waitFor(
    async () => {
      const all = await kafka.readAll(service.topics.invalid);
      const ours = all.filter((m) => String(m.headers['event-id'] ?? '').startsWith('poison-bad-'));
      return ours.length >= corpus.length ? ours : null;
    },
    { what: 'every bad event on the invalid topic', timeoutMs: 30_000 },
  );
  assert.equal(invalid.length, corpus.length);
  for (const m of invalid) {
    const i = Number(String(m.headers['event-id']).slice('poison-bad-'.length));
    const [name, value, reason] = corpus[i]!;
    assert.equal(String(m.headers['error-reason']), reason, `${name}: reason`);
    assert.equal(String(m.headers['source-topic']), input);
    assert.match(String(m.headers['source-offset']), /^\d+$/);
    assert.match(String(m.headers['source-partition']), /^\d+$/);
    assert.equal(String(m.headers['error-code']), 'WH_INVALID_EVENT');
    assert.ok(String(m.headers['error-message']).length > 0);
    assert.equal(String(m.headers['x-case']), name, 'original headers are kept');
    assert.deepEqual(m.value ?? Buffer.alloc(0), value ?? Buffer.alloc(0), `${name}: original bytes kept`);
  }
  const metric = await service.metrics.registry.getSingleMetricAsString('webhooks_events_invalid_total');
  for (const reason of new Set(corpus.map((c) => c[2]))) {
    const expected = corpus.filter((c) => c[2] === reason).length;
    assert.match(metric, new RegExp(`reason="${reason}"[^}]*} ${expected}\\b`), `metric for ${reason}`);
  }
  // Everything handled, so everything is committed: the consumer never stopped.
  const total = (await kafka.admin.fetchTopicOffsets(input)).reduce((s, p) => s + Number(p.high), 0);
  await waitFor(async () => (await kafka.committedTotal(service.config.kafka.groupId, input)) === total, {
    what: 'the input fully committed',
  });
});
