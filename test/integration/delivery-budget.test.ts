import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type TestKafka } from '../support/kafka.ts';
import { type TestReceiver } from '../support/receiver.ts';
import { openDispatcherFixture, type DispatcherFixture } from '../support/service.ts';

const SECRET = 'whsec_' + Buffer.alloc(32, 21).toString('base64');
// Slow answers, so that without the budget many requests would be open at once (each endpoint's
// slow start alone lets 8 through, and PARTITION_CONCURRENCY admits every event).
const slow = (): { status: number; afterMs: number } => ({ status: 200, afterMs: 150 });
let fixture: DispatcherFixture;
let kafka: TestKafka;
let receiver: TestReceiver;
let input: string;

before(async () => {
  fixture = await openDispatcherFixture('delivery-budget', {
    secret: SECRET,
    endpoints: [
      ['a', slow],
      ['b', slow],
    ],
    env: { MAX_IN_FLIGHT_DELIVERIES: '2', PARTITION_CONCURRENCY: '64' },
  });
  ({ kafka, receiver, input } = fixture);
});

after(() => fixture?.close());

test('MAX_IN_FLIGHT_DELIVERIES bounds the deliveries in flight over all partitions, and every event is still delivered', async () => {
  const EVENTS = 12;
  await kafka.produce(
    input,
    Array.from({ length: EVENTS }, (_, i) => ({
      value: JSON.stringify({ event: 'call.ended', timestamp: new Date().toISOString(), data: { call_id: `b${i}` } }),
    })),
  );
  await receiver.waitFor((r) => r.length >= 2 * EVENTS, 60_000, 'every event at both endpoints');
  // Each event fans out to 2 deliveries = the whole budget: one event at a time, over all partitions.
  assert.equal(receiver.maxConcurrentTotal, 2, `requests open at once: ${receiver.maxConcurrentTotal}`);
  assert.equal(new Set(receiver.requests.map((r) => String(r.headers['webhook-id']))).size, 2 * EVENTS, 'no duplicates');
});
