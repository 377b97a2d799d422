import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { waitFor } from '../support/wait-for.ts';
import { openDispatcherFixture, type DispatcherFixture } from '../support/service.ts';

const SECRET = 'whsec_' + Buffer.alloc(32, 6).toString('base64');

let f: DispatcherFixture;

before(async () => {
  // The endpoint never answers, so the first copy's attempt is still in flight when the second
  // copy is handled: without a claim both are sent.
  f = await openDispatcherFixture('dedupe_race', {
    secret: SECRET,
    endpoints: [['slow', 'hang']],
    env: { DELIVERY_TIMEOUT_MS: '1500', RETRY_DELAYS: '10m' },
  });
});

after(() => f?.close());

test('two copies of one event on adjacent offsets (a producer retry) are handled at once and sent once', async () => {
  const value = JSON.stringify({ event: 'call.ended', timestamp: new Date().toISOString(), data: { call_id: 'dup', agent: 'a' } });
  const copy = { value, headers: { 'event-id': 'evt-producer-retry' }, partition: 0 };
  await f.kafka.produce(f.input, [copy, copy]);
  await waitFor(async () => (await f.kafka.committedTotal(f.env.CONSUMER_GROUP!, f.input)) >= 2, {
    what: 'the input committed past both copies',
    timeoutMs: 30_000,
  });
  assert.equal(f.receiver.requests.length, 1, 'one request for the two copies');
  const { rows } = await f.db.pool.query<{ status: string; attempts: number }>(
    "select status, attempts from webhooks.deliveries where event_id = 'evt-producer-retry'",
  );
  assert.deepEqual(rows, [{ status: 'retrying', attempts: 1 }]);
});
