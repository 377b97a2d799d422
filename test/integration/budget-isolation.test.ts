import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type TestKafka } from '../support/kafka.ts';
import { type TestReceiver } from '../support/receiver.ts';
import { openDispatcherFixture, type DispatcherFixture } from '../support/service.ts';

const SECRET = 'whsec_' + Buffer.alloc(32, 23).toString('base64');
const BUDGET = 40;
let fixture: DispatcherFixture;
let kafka: TestKafka;
let receiver: TestReceiver;
let input: string;

before(async () => {
  fixture = await openDispatcherFixture('budget-isolation', {
    secret: SECRET,
    endpoints: [
      ['healthy', 200],
      ['hung', 'hang'],
    ],
    // Nothing times out and the hung endpoint is never judged stalled during the test, so its
    // deliveries stay pending: 4 in flight, the rest waiting for its request slots.
    env: {
      MAX_IN_FLIGHT_DELIVERIES: String(BUDGET),
      ENDPOINT_CONCURRENCY: '4',
      ENDPOINT_STALL_MS: '600000',
      DELIVERY_TIMEOUT_MS: '600000',
      RETRY_DELAYS: '10m',
      SHUTDOWN_TIMEOUT_MS: '3000',
    },
  });
  ({ kafka, receiver, input } = fixture);
});

after(() => fixture?.close());

test('an event whose only pending delivery waits on a hung endpoint holds the budget for that one delivery, not for all of its endpoints', async () => {
  await kafka.produce(
    input,
    Array.from({ length: 100 }, (_, i) => ({
      value: JSON.stringify({ event: 'call.ended', timestamp: new Date().toISOString(), data: { call_id: `h${i}` } }),
    })),
  );
  // Each event has 2 deliveries. Held per event until both settle, the budget would let only
  // BUDGET / 2 events reach the healthy endpoint; released per delivery, each event still waiting
  // on the hung one holds 1, so BUDGET - 1 events get through before the budget is full.
  const expected = BUDGET - 1; // the next event needs room for both of its deliveries
  await receiver.waitFor((r) => r.filter((x) => x.path === '/healthy').length >= expected, 30_000, 'events at the healthy endpoint');
  const healthy = receiver.to('/healthy').length;
  assert.equal(healthy, expected, `the budget still bounds the deliveries pending at the hung endpoint (healthy got ${healthy})`);
  assert.ok(receiver.to('/hung').length <= 4, `at most ENDPOINT_CONCURRENCY requests hang, got ${receiver.to('/hung').length}`);
});
