import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EndpointLimiter } from '../../src/delivery/endpoint-limiter.ts';

test('bounds requests in flight per endpoint and hands slots to waiters in order', async () => {
  const l = new EndpointLimiter({ concurrency: 2, stallMs: 10_000 });
  const r1 = await l.acquire('a');
  const r2 = await l.acquire('a');
  assert.ok(r1 && r2);
  assert.equal(l.active('a'), 2);
  const other = await l.acquire('b');
  assert.ok(other, 'another endpoint is not affected');
  const order: number[] = [];
  const w3 = l.acquire('a').then((r) => (order.push(3), r));
  const w4 = l.acquire('a').then((r) => (order.push(4), r));
  r1();
  r1(); // releasing twice frees one slot only
  const r3 = await w3;
  assert.ok(r3);
  assert.equal(l.active('a'), 2);
  r2();
  assert.ok(await w4);
  assert.deepEqual(order, [3, 4]);
});

test('a stalled endpoint makes callers defer instead of waiting', async () => {
  let now = 0;
  const l = new EndpointLimiter({ concurrency: 1, stallMs: 1000, now: () => now });
  const hold = await l.acquire('slow');
  assert.ok(hold);
  now = 1500; // the one slot has not freed for longer than stallMs
  assert.equal(await l.acquire('slow'), null);
  hold();
  const again = await l.acquire('slow');
  assert.ok(again, 'after a release the endpoint takes requests again');
});

test('a wait that outlasts stallMs ends in a deferral', async () => {
  const l = new EndpointLimiter({ concurrency: 1, stallMs: 50 });
  const hold = await l.acquire('x');
  assert.ok(hold);
  assert.equal(await l.acquire('x'), null);
  hold();
});
