import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EndpointThrottle } from '../../src/delivery/endpoint-throttle.ts';
import { EndpointLimiter } from '../../src/delivery/endpoint-limiter.ts';
import { parkTier, retryTiers } from '../../src/retry/retry-schedule.ts';

function clock(start = 1_000_000) {
  const c = { now: start };
  return { c, throttle: new EndpointThrottle({ maxPauseMs: 60_000, recoveryMs: 10_000, now: () => c.now }) };
}

/** Sends greedily at `now` and every `stepMs` for `forMs`, like a dispatcher that waits (budget 0); returns send times. */
function sendTimes(throttle: EndpointThrottle, c: { now: number }, rate: number, forMs: number, stepMs = 1): number[] {
  const times: number[] = [];
  const end = c.now + forMs;
  for (; c.now < end; c.now += stepMs) {
    while (throttle.admit('e', rate, 0) === 0) times.push(c.now);
  }
  return times;
}

test('an endpoint without a limit is never held back and leaves no state', () => {
  const { throttle } = clock();
  for (let i = 0; i < 1000; i++) assert.equal(throttle.admit('e', null, 0), 0);
  assert.equal(throttle.size, 0);
});

test('5 per second: a burst of 5, then one token every 200 ms; no 1 s window holds more than rate + burst', () => {
  const { c, throttle } = clock();
  const start = c.now;
  const times = sendTimes(throttle, c, 5, 10_000);
  assert.equal(times.filter((t) => t === start).length, 5, 'the burst is max(1, rate)');
  assert.equal(times.length, 5 + 50 - 1, 'burst plus 5/s over 10 s');
  for (const t of times) {
    const inWindow = times.filter((u) => u >= t && u < t + 1000).length;
    assert.ok(inWindow <= 10, `${inWindow} sends in the second from ${t - start} ms`);
  }
  const steady = times.slice(5);
  for (let i = 1; i < steady.length; i++) assert.equal(steady[i]! - steady[i - 1]!, 200);
});

test('a rate below 1 per second has a burst of one', () => {
  const { c, throttle } = clock();
  const times = sendTimes(throttle, c, 0.5, 10_000, 10);
  assert.deepEqual(
    times.map((t) => t - times[0]!),
    [0, 2000, 4000, 6000, 8000],
  );
});

test('a wait within the budget takes the token; a longer one takes nothing and is parked one token apart', () => {
  const { c, throttle } = clock();
  for (let i = 0; i < 5; i++) assert.equal(throttle.admit('e', 5, 500), 0);
  assert.equal(throttle.admit('e', 5, 500), 200, 'the sixth waits for a token');
  assert.equal(throttle.admit('e', 5, 500), 400);
  const wait = throttle.admit('e', 5, 500);
  assert.equal(wait, 600, 'over the budget');
  assert.equal(throttle.admit('e', 5, 500), 600, 'nothing was taken by the refused wait');
  const dues = [throttle.park('e', 600), throttle.park('e', 600), throttle.park('e', 600)];
  assert.deepEqual(
    dues.map((d) => d - c.now),
    [600, 800, 1000],
    'parked deliveries come back a token apart',
  );
  // New work queues behind the parked ones; a returning parked delivery does not.
  assert.equal(throttle.admit('e', 5, 500), 1200);
  c.now += 600;
  assert.equal(throttle.admit('e', 5, 500, true), 0, 'the first parked one finds its token');
});

test('a 429 with Retry-After stops the tokens until then, halves the rate, and recovers it', () => {
  const { c, throttle } = clock();
  const start = c.now;
  throttle.slowDown('e', 4, 3000);
  assert.equal(throttle.reason('e'), 'retry_after');
  assert.equal(throttle.admit('e', 4, 500), 3000);
  c.now += 3000;
  assert.equal(throttle.reason('e'), 'rate');
  const times = sendTimes(throttle, c, 4, 4000);
  assert.equal(times[0], start + 3000);
  const steady = times.slice(4);
  assert.ok(
    steady.every((t, i) => i === 0 || t - steady[i - 1]! === 500),
    'halved: 2/s',
  );
  c.now = start + 3000 + 10_000;
  const later = sendTimes(throttle, c, 4, 2000).slice(4);
  assert.ok(later.length > 0 && later.every((t, i) => i === 0 || t - later[i - 1]! === 250), 'back to 4/s after the recovery time');
});

test('a 429 pauses an endpoint without a limit until its Retry-After, bounded by the maximum, then forgets it', () => {
  const { c, throttle } = clock();
  throttle.slowDown('e', null, 5_000_000);
  assert.equal(throttle.admit('e', null, 0), 60_000, 'bounded by maxPauseMs');
  c.now += 60_000;
  assert.equal(throttle.admit('e', null, 0), 0);
  assert.equal(throttle.size, 0);
  throttle.slowDown('e', null, null);
  assert.equal(throttle.size, 0, 'a 429 without Retry-After does nothing to an unlimited endpoint');
});

test('a changed limit takes effect at once', () => {
  const { c, throttle } = clock();
  sendTimes(throttle, c, 1, 1);
  assert.ok(throttle.admit('e', 1, 0) > 0);
  assert.equal(throttle.admit('e', 100, 0), 0, 'raised');
  assert.equal(throttle.admit('e', null, 0), 0, 'removed');
  assert.equal(throttle.size, 0);
});

test('a parked delivery waits on the shortest tier that covers its wait, never past that tier', () => {
  const tiers = retryTiers([5000, 30_000, 120_000]);
  assert.deepEqual(parkTier(tiers, 800, 0), { tier: tiers[0], dueAtMs: 800 });
  assert.deepEqual(parkTier(tiers, 20_000, 0), { tier: tiers[1], dueAtMs: 20_000 });
  assert.deepEqual(parkTier(tiers, 900_000, 0), { tier: tiers[2], dueAtMs: 120_000 });
});

test("an endpoint's own max_in_flight overrides the service's concurrency", async () => {
  const l = new EndpointLimiter({ concurrency: 64, stallMs: 10_000 });
  const first = await l.acquire('one', 1);
  assert.ok(first);
  let second: unknown = null;
  const waiting = Promise.resolve(l.acquire('one', 1)).then((r) => (second = r));
  await new Promise((r) => setImmediate(r));
  assert.equal(second, null, 'the second waits for the first');
  assert.equal(l.active('one'), 1);
  first();
  await waiting;
  assert.ok(second);
});
