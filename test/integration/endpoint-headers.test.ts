import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Service } from '../../src/service.ts';
import { createEndpoint, findEndpoint, updateEndpoint } from '../../src/endpoints/endpoint-store.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { openTestKafka, type TestKafka } from '../support/kafka.ts';
import { failFirst, TestReceiver, type Behaviour } from '../support/receiver.ts';
import { startTestService, testEnv } from '../support/service.ts';
import { waitFor } from '../support/wait-for.ts';

// Per-endpoint headers and W3C trace context on the wire, with a real dispatcher, Kafka and
// Postgres: what a receiver gets, what the attempt rows record, and what the trigger refuses.

let db: TestDatabase;
let kafka: TestKafka;
let receiver: TestReceiver;
let service: Service;
let input: string;

const SECRET = 'whsec_' + Buffer.alloc(32, 9).toString('base64');
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PRODUCER_SPAN = '00f067aa0ba902b7';
const TRACEPARENT_RE = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

async function addEndpoint(name: string, behaviour: Behaviour, types: string[], headers?: Record<string, string>): Promise<string> {
  const e = await createEndpoint(db.db, {
    name,
    url: receiver.route(`/${name}`, SECRET, behaviour),
    secret: SECRET,
    eventTypes: types,
    ...(headers === undefined ? {} : { headers }),
  });
  return e.id;
}

function event(type: string, callId: string): string {
  return JSON.stringify({ event: type, timestamp: new Date().toISOString(), data: { call_id: callId } });
}

async function attemptTraceparents(endpointId: string): Promise<Array<string | null>> {
  const rows = await db.db
    .selectFrom('webhooks.attempts')
    .select(['traceparent', 'attempt'])
    .where('endpoint_id', '=', endpointId)
    .orderBy('attempt')
    .execute();
  return rows.map((r) => r.traceparent);
}

let flakyId: string;
let tracedId: string;

before(async () => {
  db = await createTestDatabase('headers');
  kafka = await openTestKafka('headers');
  receiver = await TestReceiver.start();
  await addEndpoint('crm', 200, ['call.ended'], { Authorization: 'Bearer s3cret-token', 'X-Tenant': 'acme' });
  tracedId = await addEndpoint('traced', 200, ['call.started']);
  flakyId = await addEndpoint('flaky', failFirst(1), ['agent.login'], { 'X-Api-Key': 'k-123' });
  const env = testEnv(db.url, 'headers', { RETRY_DELAYS: '200ms' });
  input = env.INPUT_TOPICS!;
  service = await startTestService(env);
});

after(async () => {
  await service?.stop();
  await receiver?.close();
  await kafka?.close();
  await db?.drop();
});

describe('per-endpoint headers', () => {
  test('arrive at the receiver while the signature headers on the wire stay ours', async () => {
    await kafka.produce(input, [{ key: 'h1', value: event('call.ended', 'h1') }]);
    await receiver.waitFor((r) => r.some((x) => x.path === '/crm'), 30_000, 'the event at /crm');
    const got = receiver.to('/crm')[0]!;
    assert.equal(got.headers.authorization, 'Bearer s3cret-token');
    assert.equal(got.headers['x-tenant'], 'acme');
    assert.ok(got.specSignatureValid, 'X-Webhook-Signature is ours and verifies');
    assert.ok(got.standardSignatureValid, 'webhook-signature is ours and verifies');
    assert.equal(got.headers['content-type'], 'application/json');
  });

  test('that would override Content-Type, Host, X-Webhook-* or webhook-* are refused at insert, naming the header', async () => {
    for (const name of ['X-Webhook-Signature', 'x-webhook-event', 'webhook-signature', 'Webhook-Id', 'content-type', 'HOST']) {
      await assert.rejects(
        createEndpoint(db.db, {
          name: `forge-${name}`,
          url: receiver.url('/crm'),
          eventTypes: ['call.ended'],
          headers: { [name]: 'forged' },
        }),
        (err: Error & { column?: string }) => {
          assert.equal(err.column, 'headers');
          assert.match(err.message, new RegExp(`header ${name} may not be set`));
          assert.doesNotMatch(err.message, /forged/, 'the value is never in the message');
          return true;
        },
      );
    }
  });

  test('that are no valid HTTP headers, or not an object of strings, are refused with their message', async () => {
    const bad: Array<[unknown, RegExp]> = [
      [{ 'Bad Name': 'x' }, /header name "Bad Name" is not a valid HTTP header name/],
      [{ 'X-Split': 'a\r\nX-Injected: 1' }, /header X-Split has a value with characters other than printable ASCII/],
      [{ 'X-Count': 3 }, /header X-Count must have a string value/],
      [{ 'X-Empty': '' }, /header X-Empty has an empty value/],
      [{ 'X-Api-Key': 'a', 'x-api-key': 'b' }, /is given twice \(names are case-insensitive\)/],
      [['Authorization: Bearer x'], /headers must be a JSON object/],
    ];
    for (const [headers, message] of bad) {
      await assert.rejects(
        createEndpoint(db.db, {
          name: 'bad-headers',
          url: receiver.url('/crm'),
          eventTypes: ['call.ended'],
          headers: headers as Record<string, string>,
        }),
        (err: Error & { column?: string }) => {
          assert.equal(err.column, 'headers');
          assert.match(err.message, message);
          return true;
        },
      );
    }
  });

  test('are set, replaced in any case, removed and cleared by an update without reading them back', async () => {
    const e = await createEndpoint(db.db, {
      name: 'edited',
      url: receiver.url('/edited'),
      eventTypes: ['call.ended'],
      headers: { Authorization: 'Bearer one', 'X-A': '1', 'X-B': '2' },
    });
    let u = await updateEndpoint(db.db, e.id, { headers: { set: { authorization: 'Bearer two', 'X-C': '3' }, remove: ['x-a'] } });
    assert.deepEqual(u!.headers, { authorization: 'Bearer two', 'X-B': '2', 'X-C': '3' });
    u = await updateEndpoint(db.db, e.id, { headers: { clear: true, set: { 'X-D': '4' } } });
    assert.deepEqual(u!.headers, { 'X-D': '4' });
    u = await updateEndpoint(db.db, e.id, { headers: { clear: true } });
    assert.deepEqual(u!.headers, {});
    await assert.rejects(
      updateEndpoint(db.db, e.id, { headers: { set: { 'Webhook-Timestamp': '1' } } }),
      /header Webhook-Timestamp may not be set/,
    );
    assert.deepEqual((await findEndpoint(db.db, 'edited'))!.headers, {});
  });
});

describe('trace context', () => {
  test('traceparent is continued as a child of the producer span: same trace id and flags, new span id, tracestate kept', async () => {
    await kafka.produce(input, [
      {
        key: 't1',
        value: event('call.started', 't1'),
        headers: { traceparent: `00-${TRACE_ID}-${PRODUCER_SPAN}-01`, tracestate: 'vendor=abc,other=1' },
      },
    ]);
    await receiver.waitFor((r) => r.some((x) => x.path === '/traced'), 30_000, 'the event at /traced');
    const got = receiver.to('/traced')[0]!;
    const m = TRACEPARENT_RE.exec(String(got.headers.traceparent));
    assert.ok(m, `a version-00 traceparent, got ${String(got.headers.traceparent)}`);
    assert.equal(m[1], TRACE_ID);
    assert.notEqual(m[2], PRODUCER_SPAN, 'a span of its own');
    assert.notEqual(m[2], '0'.repeat(16));
    assert.equal(m[3], '01');
    assert.equal(got.headers.tracestate, 'vendor=abc,other=1');
    // The attempt row records what was sent.
    await waitFor(async () => (await attemptTraceparents(tracedId)).length === 1, { what: 'the attempt row of /traced' });
    assert.deepEqual(await attemptTraceparents(tracedId), [got.headers.traceparent]);
  });

  test('a retry attempt is still a child of the producer span, with a span id of its own', async () => {
    await kafka.produce(input, [
      { key: 't2', value: event('agent.login', 't2'), headers: { traceparent: `00-${TRACE_ID}-${PRODUCER_SPAN}-00` } },
    ]);
    await receiver.waitFor((r) => r.filter((x) => x.path === '/flaky').length >= 2, 30_000, 'first attempt and retry at /flaky');
    const [first, second] = receiver.to('/flaky').map((r) => TRACEPARENT_RE.exec(String(r.headers.traceparent)));
    assert.ok(first && second, 'both attempts carry a traceparent');
    assert.equal(first[1], TRACE_ID);
    assert.equal(second[1], TRACE_ID, 'the retry topic carried the trace on');
    assert.equal(second[3], '00', 'flags kept (not sampled)');
    assert.notEqual(second[2], first[2], 'a new span id per attempt');
    assert.notEqual(second[2], PRODUCER_SPAN);
    assert.equal(receiver.to('/flaky')[1]!.headers['x-webhook-attempt'], '2');
    assert.deepEqual(
      receiver.to('/flaky').map((r) => r.headers['x-api-key']),
      ['k-123', 'k-123'],
      "the endpoint's headers go with the retry too",
    );
    assert.equal(receiver.to('/flaky')[1]!.headers.tracestate, undefined, 'no tracestate when the producer sent none');
    await waitFor(async () => (await attemptTraceparents(flakyId)).length === 2, { what: 'two attempt rows of /flaky' });
    assert.deepEqual(await attemptTraceparents(flakyId), [first[0], second[0]]);
  });

  test('a malformed traceparent is ignored with its tracestate: no trace headers are sent and none is recorded', async () => {
    const before = receiver.to('/traced').length;
    const malformed = [
      `00-${TRACE_ID.toUpperCase()}-${PRODUCER_SPAN}-01`,
      `00-${'0'.repeat(32)}-${PRODUCER_SPAN}-01`,
      `ff-${TRACE_ID}-${PRODUCER_SPAN}-01`,
      `00-${TRACE_ID}-${PRODUCER_SPAN}-01-extra`,
      'not a traceparent',
    ];
    await kafka.produce(
      input,
      malformed.map((traceparent, i) => ({
        key: `m${i}`,
        value: event('call.started', `m${i}`),
        headers: { traceparent, tracestate: 'vendor=abc' },
      })),
    );
    await receiver.waitFor((r) => r.filter((x) => x.path === '/traced').length >= before + malformed.length, 30_000, 'the malformed ones');
    for (const r of receiver.to('/traced').slice(before)) {
      assert.equal(r.headers.traceparent, undefined);
      assert.equal(r.headers.tracestate, undefined);
    }
    await waitFor(async () => (await attemptTraceparents(tracedId)).length === 1 + malformed.length, { what: 'their attempt rows' });
    assert.deepEqual((await attemptTraceparents(tracedId)).filter((t) => t === null).length, malformed.length);
  });
});
