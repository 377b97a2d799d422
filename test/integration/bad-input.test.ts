import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { encodeTask, headerString } from '../../src/retry/retry-message.ts';
import { waitFor } from '../support/wait-for.ts';
import { openDispatcherFixture, type DispatcherFixture } from '../support/service.ts';

const SECRET = 'whsec_' + Buffer.alloc(32, 5).toString('base64');

let f: DispatcherFixture;

function event(n: number): string {
  return JSON.stringify({ event: 'call.ended', timestamp: new Date().toISOString(), data: { call_id: `c${n}`, agent: 'a' } });
}

before(async () => {
  f = await openDispatcherFixture('bad_input', { secret: SECRET, endpoints: [['crm', 200]], env: { RETRY_DELAYS: '1s' } });
});

after(() => f?.close());

test('an event whose event-id header holds a NUL byte is delivered, and so is the next one, and both are committed', async () => {
  await f.kafka.produce(f.input, [
    { value: event(1), headers: { 'event-id': 'evt\u0000nul' }, partition: 0 },
    { value: event(2), headers: { 'event-id': 'evt-after-nul' }, partition: 0 },
  ]);
  await f.receiver.waitFor((r) => r.filter((x) => x.path === '/crm').length >= 2, 20_000, 'both events at /crm');
  await waitFor(async () => (await f.kafka.committedTotal(f.env.CONSUMER_GROUP!, f.input)) >= 2, {
    what: 'the input committed past both events',
    timeoutMs: 20_000,
  });
  const { rows } = await f.db.pool.query<{ n: number }>("select count(*)::int as n from webhooks.deliveries where status = 'succeeded'");
  assert.equal(rows[0]!.n, 2);
});

test('a delay-topic message whose endpoint-id is not a UUID goes to the invalid topic and its offset is committed', async () => {
  const retryTopic = f.service.topics.retry[0]!;
  const now = Date.now();
  const task = encodeTask({
    deliveryId: randomUUID(),
    endpointId: 'not-a-uuid',
    eventId: 'evt-bad-endpoint',
    eventType: 'call.ended',
    eventTimestampMs: now,
    series: 1,
    attempt: 2,
    firstAttemptAtMs: now,
    dueAtMs: now,
    delayMs: 1000,
    body: Buffer.from(event(3)),
  });
  await f.kafka.produce(retryTopic, [{ ...task, partition: 0 }]);
  const invalid = await waitFor(
    async () => (await f.kafka.readAll(f.service.topics.invalid)).find((m) => headerString(m.headers, 'source-topic') === retryTopic),
    { what: 'the retry message on the invalid topic', timeoutMs: 20_000 },
  );
  assert.equal(headerString(invalid.headers, 'error-reason'), 'bad_retry_message');
  assert.match(headerString(invalid.headers, 'error-message') ?? '', /endpoint-id is not a UUID/);
  await waitFor(async () => (await f.kafka.committedTotal(`${f.env.CONSUMER_GROUP!}.retry`, retryTopic)) >= 1, {
    what: 'the delay consumer committed past it',
    timeoutMs: 20_000,
  });
});

test('an event nested 5,000 deep goes to the invalid topic as too_deep, and the next event is delivered and committed', async () => {
  // Written out by hand: JSON.stringify itself cannot encode it.
  const deep = `${'['.repeat(5000)}1${']'.repeat(5000)}`;
  const value = `{"event":"call.ended","timestamp":"${new Date().toISOString()}","data":{"call_id":"deep","agent":"a","deep":${deep}}}`;
  const before = await f.kafka.committedTotal(f.env.CONSUMER_GROUP!, f.input);
  const sent = f.receiver.requests.length;
  await f.kafka.produce(f.input, [
    { value, partition: 1 },
    { value: event(4), partition: 1 },
  ]);
  const invalid = await waitFor(
    async () => (await f.kafka.readAll(f.service.topics.invalid)).find((m) => headerString(m.headers, 'source-topic') === f.input),
    { what: 'the deep event on the invalid topic', timeoutMs: 20_000 },
  );
  assert.equal(headerString(invalid.headers, 'error-reason'), 'too_deep');
  await f.receiver.waitFor((r) => r.length >= sent + 1, 20_000, 'the next event at /crm');
  await waitFor(async () => (await f.kafka.committedTotal(f.env.CONSUMER_GROUP!, f.input)) >= before + 2, {
    what: 'the input committed past both events',
    timeoutMs: 20_000,
  });
});
