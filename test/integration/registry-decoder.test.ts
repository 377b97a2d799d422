/**
 * The registry decoder against a real Confluent-compatible schema registry (start one with
 * scripts/registry-up.sh, which prints SCHEMA_REGISTRY_URL), plus small local HTTP stubs for the
 * failure modes a healthy registry cannot show (5xx, silence, a wrong base URL).
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { createRegistryDecoder, type RegistryDecoder } from '../../src/events/registry-decoder.ts';
import { InvalidEventError, TransientError } from '../../src/errors.ts';
import {
  avroSchema,
  callEnded,
  callEndedForProtobuf,
  jsonSchema,
  protoSchema,
  protoSchemaEnvelopeSecond,
} from '../support/call-ended-schemas.ts';
import { freePort } from '../support/ports.ts';

const registryUrl = process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081/apis/ccompat/v7';
const TIMEOUT_MS = 5_000;

const run = randomUUID();
const registry = new SchemaRegistry({ host: registryUrl }, { [SchemaType.JSON]: { strict: false, logger: false } });
const ids = { avro: 0, json: 0, protobuf: 0, protobufEnvelopeSecond: 0 };
let decoder: RegistryDecoder;

before(async () => {
  try {
    const probe = await fetch(`${registryUrl}/subjects`, { signal: AbortSignal.timeout(5_000) });
    if (!probe.ok) throw new Error(`HTTP ${probe.status}`);
  } catch (error) {
    throw new Error(`no schema registry at ${registryUrl}: start one with scripts/registry-up.sh or set SCHEMA_REGISTRY_URL`, {
      cause: error,
    });
  }
  ids.avro = (
    await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(avroSchema) }, { subject: `call.ended-avro-${run}` })
  ).id;
  ids.json = (
    await registry.register({ type: SchemaType.JSON, schema: JSON.stringify(jsonSchema) }, { subject: `call.ended-json-${run}` })
  ).id;
  ids.protobuf = (await registry.register({ type: SchemaType.PROTOBUF, schema: protoSchema }, { subject: `call.ended-proto-${run}` })).id;
  ids.protobufEnvelopeSecond = (
    await registry.register({ type: SchemaType.PROTOBUF, schema: protoSchemaEnvelopeSecond }, { subject: `call.ended-proto-v2-${run}` })
  ).id;
  decoder = createRegistryDecoder({ url: registryUrl, timeoutMs: TIMEOUT_MS });
});

test('decodes Avro, JSON Schema and Protobuf encodings of call.ended to the same plain object', async () => {
  const encoded = {
    avro: await registry.encode(ids.avro, callEnded),
    json: await registry.encode(ids.json, callEnded),
    protobuf: await registry.encode(ids.protobuf, callEndedForProtobuf),
  };
  for (const [format, value] of Object.entries(encoded)) {
    const decoded = await decoder.decode(value);
    // deepStrictEqual compares prototypes too, so class instances (avsc records, protobufjs
    // messages, Long) would fail here, not only wrong values.
    assert.deepStrictEqual(decoded, callEnded, format);
    assert.deepStrictEqual(JSON.parse(JSON.stringify(decoded)), decoded, `${format} survives JSON`);
  }
});

test('decodes Protobuf with Confluent message indexes, as Java producers write it', async () => {
  const libraryEncoded = await registry.encode(ids.protobuf, callEndedForProtobuf);
  // First message: indexes [0], written as a single 0 byte after the header.
  const firstMessage = Buffer.concat([libraryEncoded.subarray(0, 5), Uint8Array.of(0), libraryEncoded.subarray(5)]);
  assert.deepStrictEqual(await decoder.decode(firstMessage), callEnded);

  // Second message: indexes [1], written as zigzag varints: count 1 -> 0x02, index 1 -> 0x02.
  const dataBytes = (await registry.encode(ids.protobufEnvelopeSecond, callEndedForProtobuf.data)).subarray(5);
  const envelopeBytes = Buffer.concat([
    lengthDelimited(1, Buffer.from(callEnded.event)),
    lengthDelimited(2, Buffer.from(callEnded.timestamp)),
    lengthDelimited(3, dataBytes),
  ]);
  const secondMessage = Buffer.concat([header(ids.protobufEnvelopeSecond), Uint8Array.of(0x02, 0x02), envelopeBytes]);
  assert.deepStrictEqual(await decoder.decode(secondMessage), callEnded);
});

test('resolves schema references through the registry', async () => {
  const [dataField] = avroSchema.fields.filter((field) => field.name === 'data');
  const dataSchema = { namespace: 'dialer.events', ...(dataField?.type as object) };
  const dataSubject = `call.ended-avro-data-${run}`;
  await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(dataSchema) }, { subject: dataSubject });
  const envelopeSchema = {
    ...avroSchema,
    name: 'CallEndedWithReference',
    fields: avroSchema.fields.map((field) => (field.name === 'data' ? { name: 'data', type: 'dialer.events.CallEndedData' } : field)),
  };
  const { id } = await registry.register(
    {
      type: SchemaType.AVRO,
      schema: JSON.stringify(envelopeSchema),
      references: [{ name: 'dialer.events.CallEndedData', subject: dataSubject, version: 1 }],
    },
    { subject: `call.ended-avro-ref-${run}` },
  );
  assert.deepStrictEqual(await decoder.decode(await registry.encode(id, callEnded)), callEnded);
});

test('reports an unknown schema id as unknown_schema', async () => {
  await assert.rejects(decoder.decode(Buffer.concat([header(2 ** 31 - 1), Buffer.from('{}')])), invalid('unknown_schema'));
  await assert.rejects(decoder.decode(Buffer.concat([header(0), Buffer.from('{}')])), invalid('unknown_schema'));
});

test('reports bytes that do not decode with their schema as undecodable', async () => {
  const garbage = Buffer.from('this is not what the schema says \xff\xfe\xfd', 'latin1');
  for (const [format, id] of Object.entries({ avro: ids.avro, json: ids.json, protobuf: ids.protobuf })) {
    await assert.rejects(decoder.decode(Buffer.concat([header(id), garbage])), invalid('undecodable'), format);
  }
  const avro = await registry.encode(ids.avro, callEnded);
  await assert.rejects(decoder.decode(avro.subarray(0, avro.length - 3)), invalid('undecodable'), 'truncated avro');
  await assert.rejects(decoder.decode(Buffer.concat([avro, Uint8Array.of(1)])), invalid('undecodable'), 'trailing avro');
  const json = Buffer.concat([header(ids.json), Buffer.from(JSON.stringify({ ...callEnded, data: {} }))]);
  await assert.rejects(decoder.decode(json), invalid('undecodable'), 'json not matching its schema');
});

test('fails fast with TransientError when the registry port is closed', async () => {
  const closedPort = await freePort();
  const down = createRegistryDecoder({ url: `http://127.0.0.1:${closedPort}`, timeoutMs: TIMEOUT_MS });
  const started = performance.now();
  await assert.rejects(down.decode(Buffer.concat([header(ids.avro), Buffer.from('x')])), TransientError);
  assert.ok(performance.now() - started < TIMEOUT_MS, 'failed within the timeout');
});

test('gives up with TransientError after timeoutMs when the registry does not answer', async () => {
  await using stub = await startStub(() => {
    /* accept the request, never answer */
  });
  const timeoutMs = 300;
  const silent = createRegistryDecoder({ url: stub.url, timeoutMs });
  const started = performance.now();
  await assert.rejects(silent.decode(Buffer.concat([header(7), Buffer.from('x')])), (error) => {
    assert.ok(error instanceof TransientError);
    assert.ok(error.cause instanceof DOMException && error.cause.name === 'TimeoutError', String(error.cause));
    return true;
  });
  const elapsed = performance.now() - started;
  assert.ok(elapsed >= timeoutMs - 50 && elapsed < timeoutMs + 1_000, `gave up after ${Math.round(elapsed)} ms`);
});

test('classifies registry answers by status and error_code, never by message', async () => {
  const cases: { status: number; body: string; expect: 'transient' | 'unknown_schema' }[] = [
    {
      status: 503,
      body: '{"error_code":50003,"message":"Error while forwarding the request to the leader"}',
      expect: 'transient',
    },
    { status: 500, body: '{"error_code":50001,"message":"Schema 7 not found"}', expect: 'transient' },
    // A wrong base URL: 404 without a registry error code must not turn events into poison.
    { status: 404, body: '{"title":"Could not find resource","status":404}', expect: 'transient' },
    { status: 404, body: '<html>Not Found</html>', expect: 'transient' },
    { status: 401, body: '{"error_code":40101,"message":"Unauthorized"}', expect: 'transient' },
    {
      status: 404,
      body: '{"error_code":40403,"message":"no such thing, whatever the wording"}',
      expect: 'unknown_schema',
    },
  ];
  for (const { status, body, expect } of cases) {
    await using stub = await startStub((_request, response) => {
      response.writeHead(status, { 'content-type': 'application/json' }).end(body);
    });
    const stubbed = createRegistryDecoder({ url: stub.url, timeoutMs: TIMEOUT_MS });
    const decoding = stubbed.decode(Buffer.concat([header(7), Buffer.from('{}')]));
    await assert.rejects(decoding, expect === 'transient' ? TransientError : invalid(expect), `${status} ${body}`);
  }
});

test('fetches a schema once per id, also for concurrent cache misses, and sends basic auth', async () => {
  const requests: { url: string | undefined; authorization: string | undefined }[] = [];
  await using stub = await startStub((request, response) => {
    requests.push({ url: request.url, authorization: request.headers.authorization });
    const schema = JSON.stringify({ type: 'object', properties: { n: { type: 'integer' } } });
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ schema, schemaType: 'JSON' }));
  });
  const cached = createRegistryDecoder({
    url: `${stub.url}/`,
    username: 'dialer',
    password: 's3cret',
    timeoutMs: TIMEOUT_MS,
  });
  const value = (n: number) => Buffer.concat([header(42), Buffer.from(JSON.stringify({ n }))]);
  assert.deepStrictEqual(await Promise.all([cached.decode(value(1)), cached.decode(value(2))]), [{ n: 1 }, { n: 2 }]);
  assert.deepStrictEqual(await cached.decode(value(3)), { n: 3 });
  assert.deepStrictEqual(requests, [{ url: '/schemas/ids/42', authorization: `Basic ${Buffer.from('dialer:s3cret').toString('base64')}` }]);
});

test('returns 64-bit integers beyond 2^53 as decimal strings and bytes as base64', async () => {
  const schema = `syntax = "proto3";
message Big { int64 small = 1; uint64 big = 2; bytes blob = 3; }`;
  await using stub = await startStub((_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ schema, schemaType: 'PROTOBUF' }));
  });
  const stubbed = createRegistryDecoder({ url: stub.url, timeoutMs: TIMEOUT_MS });
  const payload = Buffer.concat([
    Uint8Array.of(0x08),
    varint(42n),
    Uint8Array.of(0x10),
    varint(2n ** 63n + 1n),
    lengthDelimited(3, Uint8Array.of(0, 1, 2, 255)),
  ]);
  assert.deepStrictEqual(await stubbed.decode(Buffer.concat([header(9), Uint8Array.of(0), payload])), {
    small: 42,
    big: '9223372036854775809',
    blob: 'AAEC/w==',
  });
  // A message with every field at its default is empty on the wire: only the index byte is left.
  assert.deepStrictEqual(await stubbed.decode(Buffer.concat([header(9), Uint8Array.of(0)])), {
    small: 0,
    big: 0,
    blob: '',
  });
});

test('decodes Protobuf schemas that import well-known types', async () => {
  const schema = `syntax = "proto3";
import "google/protobuf/timestamp.proto";
message Stamped { google.protobuf.Timestamp at = 1; }`;
  await using stub = await startStub((_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ schema, schemaType: 'PROTOBUF' }));
  });
  const stubbed = createRegistryDecoder({ url: stub.url, timeoutMs: TIMEOUT_MS });
  const timestamp = Buffer.concat([Uint8Array.of(0x08), varint(1_772_897_400n), Uint8Array.of(0x10), varint(5n)]);
  const value = Buffer.concat([header(11), Uint8Array.of(0), lengthDelimited(1, timestamp)]);
  assert.deepStrictEqual(await stubbed.decode(value), { at: { seconds: 1_772_897_400, nanos: 5 } });
});

// ---- helpers ----------------------------------------------------------------------------------

function header(id: number): Buffer {
  const bytes = Buffer.alloc(5);
  bytes.writeInt32BE(id, 1);
  return bytes;
}

function varint(value: bigint): Buffer {
  const bytes: number[] = [];
  let rest = value;
  do {
    const low = Number(rest & 0x7fn);
    rest >>= 7n;
    bytes.push(rest > 0n ? low | 0x80 : low);
  } while (rest > 0n);
  return Buffer.from(bytes);
}

function lengthDelimited(field: number, bytes: Uint8Array): Buffer {
  return Buffer.concat([varint(BigInt((field << 3) | 2)), varint(BigInt(bytes.length)), bytes]);
}

function invalid(reason: string): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof InvalidEventError, `expected InvalidEventError(${reason}), got ${String(error)}`);
    assert.equal(error.reason, reason, String(error.message));
    return true;
  };
}

async function startStub(handler: RequestListener): Promise<{ url: string } & AsyncDisposable> {
  const server = createServer(handler).listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    async [Symbol.asyncDispose]() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}
