import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DeliveryBudget } from '../../src/delivery/delivery-budget.ts';

const never = new AbortController().signal;
const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test('takes room at once while there is some, and makes later takers wait until enough is released', async () => {
  const b = new DeliveryBudget(10);
  await b.take(6, never);
  await b.take(4, never);
  assert.equal(b.used, 10);
  let got = false;
  const waiting = b.take(3, never).then(() => (got = true));
  await flush();
  assert.equal(got, false, 'no room: waits');
  b.release(2);
  await flush();
  assert.equal(got, false, 'two free is not three');
  b.release(4);
  await waiting;
  assert.equal(b.used, 7);
});

test('serves waiters in arrival order: a small taker does not overtake a large one', async () => {
  const b = new DeliveryBudget(10);
  await b.take(9, never);
  const order: string[] = [];
  const large = b.take(5, never).then(() => order.push('large'));
  const small = b.take(1, never).then(() => order.push('small'));
  await flush();
  assert.deepEqual(order, [], 'one free would fit the small one, but the large one is first');
  b.release(9);
  await Promise.all([large, small]);
  assert.deepEqual(order, ['large', 'small']);
  assert.equal(b.used, 6);
});

test('clamps a weight above the capacity, so an event of more endpoints than the budget still goes, alone', async () => {
  const b = new DeliveryBudget(4);
  assert.equal(b.weightOf(25), 4);
  assert.equal(b.weightOf(3), 3);
  let ran = 0;
  await b.run(25, false, never, async () => {
    ran++;
    assert.equal(b.used, 4);
  });
  assert.equal(ran, 1);
  assert.equal(b.used, 0, 'released when it settled');
});

test('force takes room without waiting, past the capacity, and run releases it when fn fails', async () => {
  const b = new DeliveryBudget(2);
  await b.take(2, never);
  await assert.rejects(
    b.run(2, true, never, async () => {
      assert.equal(b.used, 4, 'overdrawn');
      throw new Error('boom');
    }),
    /boom/,
  );
  assert.equal(b.used, 2);
});

test('an aborted wait rejects with the reason, leaves the line, and lets the next waiter in', async () => {
  const b = new DeliveryBudget(3);
  await b.take(3, never);
  const abort = new AbortController();
  const first = b.take(3, abort.signal);
  let second = false;
  const next = b.take(1, never).then(() => (second = true));
  abort.abort(new Error('stopping'));
  await assert.rejects(first, /stopping/);
  assert.equal(b.waiting, 1);
  b.release(1);
  await next;
  assert.equal(second, true);
  assert.equal(b.used, 3);
  await assert.rejects(b.take(1, abort.signal), /stopping/, 'an already aborted signal rejects at once when it would wait');
});

test('each delivery gives its room back as it settles, and run releases what is left when fn settles', async () => {
  const b = new DeliveryBudget(4);
  let waiterGot = false;
  await b.run(3, false, never, async (settledOne) => {
    assert.equal(b.used, 3);
    const waiter = b.take(2, never).then(() => (waiterGot = true));
    await flush();
    assert.equal(waiterGot, false, 'one free is not two');
    settledOne();
    await waiter;
    assert.equal(b.used, 4, 'two of ours and the waiter’s two');
    settledOne();
    settledOne();
    settledOne(); // more than the weight: no-op
    assert.equal(b.used, 2);
  });
  assert.equal(b.used, 2, 'nothing released twice');
});
