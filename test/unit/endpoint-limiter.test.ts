import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EndpointLimiter, type Release } from '../../src/delivery/endpoint-limiter.ts';

test('bounds requests in flight per endpoint and hands slots to waiters in order', async () => {
  const l = new EndpointLimiter({ concurrency: 2, stallMs: 10_000 });
  const r1 = await l.acquire('a');
  const r2 = await l.acquire('a');
  assert.ok(r1 && r2);
  assert.equal(l.active('a'), 2);
  const other = await l.acquire('b');
  assert.ok(other, 'another endpoint is not affected');
  const order: number[] = [];
  const w3 = Promise.resolve(l.acquire('a')).then((r) => (order.push(3), r));
  const w4 = Promise.resolve(l.acquire('a')).then((r) => (order.push(4), r));
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

test('a stalled endpoint is probed with a few requests only, however many time out, until one is answered', async () => {
  let now = 0;
  const l = new EndpointLimiter({ concurrency: 4, stallMs: 1000, probes: 2, now: () => now });
  const held = await Promise.all([1, 2, 3, 4].map(() => l.acquire('hung')));
  now = 1000;
  assert.equal(await l.acquire('hung'), null, 'slots full and nothing answered for stallMs: open');
  assert.ok(l.isOpen('hung'));
  // The four time out one by one (no answer): the circuit stays open and refills only to the probes.
  for (const r of held) r!(false);
  assert.equal(l.active('hung'), 0);
  const p1 = await l.acquire('hung');
  const p2 = await l.acquire('hung');
  assert.ok(p1 && p2, 'probes go out');
  assert.equal(await l.acquire('hung'), null, 'no more than the probes while open');
  p1(false);
  assert.ok(l.isOpen('hung'), 'a timed-out probe keeps it open');
  p2(true);
  assert.equal(l.isOpen('hung'), false, 'an answer closes the circuit');
  const again = await Promise.all([1, 2, 3, 4].map(() => l.acquire('hung')));
  assert.ok(again.every(Boolean), 'full concurrency again');
});

test('staggered timeouts do not hide a stall: freed slots are no answers', async () => {
  let now = 0;
  const l = new EndpointLimiter({ concurrency: 2, stallMs: 1000, now: () => now });
  const a = await l.acquire('x');
  const b = await l.acquire('x');
  now = 600;
  a!(false); // timed out: a slot frees, but nothing was answered
  const c = await l.acquire('x');
  assert.ok(c);
  now = 1200;
  assert.equal(await l.acquire('x'), null, 'nothing answered for 1200 ms with every slot full');
  b!(false);
  c!(false);
});

test('a check timer that fires late (this process was busy) does not open the circuit; one on time does', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  let now = 0;
  const l = new EndpointLimiter({ concurrency: 1, stallMs: 100, now: () => now });
  const hold = await l.acquire('busy');
  assert.ok(hold);
  const waiting = l.acquire('busy');
  // The event loop was blocked: the check due at 100 ms runs at 400 ms, when an answer may be unread.
  now = 400;
  t.mock.timers.tick(100);
  assert.equal(l.isOpen('busy'), false, 'a late check looks again instead of opening');
  hold(true); // the answer that was waiting in the poll queue
  const granted = await waiting;
  assert.ok(granted, 'the waiter gets the slot of the answered request');

  const next = l.acquire('busy');
  now = 500; // on time this time: nothing answered for stallMs with the slot full
  t.mock.timers.tick(100);
  assert.equal(await next, null);
  assert.ok(l.isOpen('busy'));
  granted(false);
});

test('slow start: an endpoint that has not answered yet gets the initial window, and each answer widens it by one', async () => {
  const l = new EndpointLimiter({ concurrency: 6, stallMs: 10_000, initialWindow: 2 });
  const first = await Promise.all([l.acquire('e'), l.acquire('e')]);
  assert.ok(first.every(Boolean));
  let granted = 0;
  const waiting = [1, 2, 3, 4].map(() => Promise.resolve(l.acquire('e')).then((r) => (granted++, r)));
  await new Promise((r) => setImmediate(r)); // let the granted waiters run
  assert.equal(granted, 0, 'the third request waits although concurrency is 6');
  assert.equal(l.window('e'), 2);
  first[0]!(true); // answered: its slot and one more pass to waiters
  await new Promise((r) => setImmediate(r)); // let the granted waiters run
  assert.equal(granted, 2);
  assert.equal(l.window('e'), 3);
  assert.equal(l.active('e'), 3);
  first[1]!(true);
  const rest = await Promise.all(waiting);
  assert.equal(granted, 4);
  assert.equal(l.window('e'), 4);
  for (const r of rest) r!(true);
  assert.equal(l.window('e'), 6, 'never wider than concurrency');
  assert.equal(l.active('e'), 0);
});

test('a hung endpoint that never answered holds only the initial window; the rest are deferred once it stalls', async () => {
  let now = 0;
  const l = new EndpointLimiter({ concurrency: 64, stallMs: 1000, initialWindow: 8, now: () => now });
  const held = await Promise.all(Array.from({ length: 8 }, () => l.acquire('hung')));
  assert.ok(held.every(Boolean));
  now = 1000;
  const more = await Promise.all(Array.from({ length: 5 }, () => l.acquire('hung')));
  assert.deepEqual(more, [null, null, null, null, null], 'no ninth request while nothing is answered');
  assert.equal(l.active('hung'), 8);
  for (const r of held) r!(false);
});

test('opening the circuit starts the window over; an idle endpoint keeps a grown window', async () => {
  let now = 0;
  const l = new EndpointLimiter({ concurrency: 4, stallMs: 1000, initialWindow: 1, probes: 1, now: () => now });
  for (let i = 0; i < 3; i++) (await l.acquire('x'))!(true);
  assert.equal(l.window('x'), 4, 'grown by three answers');
  now = 5000; // idle a while, not forgotten
  const all = await Promise.all([1, 2, 3, 4].map(() => l.acquire('x')));
  assert.ok(all.every(Boolean), 'the whole window at once after idle');
  now = 6000;
  assert.equal(await l.acquire('x'), null, 'stalled: open');
  assert.equal(l.window('x'), 1);
  for (const r of all) r!(false);
  const probe = await l.acquire('x');
  probe!(true); // an answer closes it; the window grows from 1 again
  assert.equal(l.isOpen('x'), false);
  assert.equal(l.window('x'), 2);
});

test('a free slot is granted synchronously; only a caller that must wait gets a promise', async () => {
  const l = new EndpointLimiter({ concurrency: 1, stallMs: 60_000 });
  const first = l.acquire('sync');
  assert.equal(typeof first, 'function', 'granted without a promise');
  const second = l.acquire('sync');
  assert.ok(second instanceof Promise);
  (first as Release)();
  const granted = await second;
  assert.equal(typeof granted, 'function');
  granted!();
});

test('many waiters share one check timer: all are deferred together, in order, when the endpoint stalls', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  let now = 0;
  const l = new EndpointLimiter({ concurrency: 1, stallMs: 100, now: () => now });
  const hold = l.acquire('one') as Release;
  const order: number[] = [];
  const waiting = [0, 1, 2, 3, 4].map((i) => Promise.resolve(l.acquire('one')).then((r) => (order.push(i), r)));
  now = 100;
  t.mock.timers.tick(100);
  assert.deepEqual(await Promise.all(waiting), [null, null, null, null, null]);
  assert.deepEqual(order, [0, 1, 2, 3, 4], 'deferred in the order they came');
  assert.ok(l.isOpen('one'));
  hold(false);
});

test('waiters on an endpoint that keeps answering are never deferred, however long each waits', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  let now = 0;
  const l = new EndpointLimiter({ concurrency: 1, stallMs: 100, initialWindow: 1, probes: 1, now: () => now });
  let held = l.acquire('busy') as Release;
  const waiting = Array.from({ length: 6 }, () => Promise.resolve(l.acquire('busy')));
  // One answer every 60 ms: the last waiter waits 360 ms, more than three times stallMs.
  for (let i = 0; i < 6; i++) {
    now += 60;
    t.mock.timers.tick(60);
    held(true);
    const next = await waiting[i]!;
    assert.ok(next, `waiter ${i} gets a slot`);
    held = next;
  }
  assert.equal(l.isOpen('busy'), false);
  held(true);
  assert.equal(l.active('busy'), 0);
});

test('a check timer re-arms from the last answer, and a wait that starts after the queue drained is judged afresh', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  let now = 0;
  const l = new EndpointLimiter({ concurrency: 1, stallMs: 100, now: () => now });
  const a = l.acquire('e') as Release;
  const first = l.acquire('e');
  now = 90;
  a(true); // answered at 90: the waiter gets the slot, the queue is empty
  const b = await first;
  assert.ok(b);
  const second = l.acquire('e'); // waits from 90: due at 190, not at the first timer's 100
  now = 100;
  t.mock.timers.tick(100);
  assert.equal(l.isOpen('e'), false, 'not stalled at 100: only 10 ms since the last answer');
  now = 189;
  t.mock.timers.tick(89);
  assert.equal(l.isOpen('e'), false);
  now = 190;
  t.mock.timers.tick(1);
  assert.equal(await second, null, 'nothing answered for stallMs with the slot full');
  assert.ok(l.isOpen('e'));
  b(false);
});
