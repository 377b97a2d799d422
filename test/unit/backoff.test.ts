import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { test } from 'node:test';
import { backoffDelay, retrying, retryingAfter, sleep } from '../../src/util/backoff.ts';

/** Lets pending promise callbacks run, so a retry loop reaches its next wait. */
const settle = async (): Promise<void> => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

test('the delay doubles from initialMs up to the cap and stays there', () => {
  const policy = { initialMs: 100, maxMs: 1000 };
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6, 20].map((n) => backoffDelay(n, policy)),
    [100, 200, 400, 800, 1000, 1000, 1000],
  );
});

test('equal jitter keeps each delay between half and all of the doubled delay', () => {
  assert.equal(backoffDelay(3, { initialMs: 100, maxMs: 10_000, jitter: true, random: () => 0 }), 200);
  assert.equal(backoffDelay(3, { initialMs: 100, maxMs: 10_000, jitter: true, random: () => 0.999_999 }), 400);
});

test('retrying waits the doubling delays up to the cap between failures, then returns the result', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const waits: number[] = [];
  let calls = 0;
  const done = retrying(
    async (attempt) => {
      calls++;
      assert.equal(attempt, calls);
      if (calls <= 5) throw new Error(`failure ${calls}`);
      return 'ok';
    },
    { signal: new AbortController().signal, initialMs: 100, maxMs: 500, onRetry: (r) => waits.push(r.delayMs) },
  );
  for (const [i, ms] of [100, 200, 400, 500, 500].entries()) {
    await settle();
    assert.equal(calls, i + 1, 'the previous wait has passed and the next attempt failed');
    t.mock.timers.tick(ms - 1);
    await settle();
    assert.equal(calls, waits.length, `still waiting 1 ms before the ${ms} ms delay ends`);
    t.mock.timers.tick(1);
  }
  assert.equal(await done, 'ok');
  assert.deepEqual(waits, [100, 200, 400, 500, 500]);
});

test('an abort ends the wait at once with the signal reason, without the timer firing', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const controller = new AbortController();
  let calls = 0;
  const done = retrying(
    async () => {
      calls++;
      throw new Error('down');
    },
    { signal: controller.signal, initialMs: 30_000, maxMs: 30_000 },
  );
  await settle();
  assert.equal(calls, 1);
  const reason = new Error('shutting down');
  controller.abort(reason);
  await assert.rejects(done, (err) => err === reason);
  assert.equal(calls, 1, 'no further attempt after the abort');
});

test('an error refused by retryable is rethrown at once, without waiting', async () => {
  const poison = new Error('poison');
  let calls = 0;
  await assert.rejects(
    retrying(
      async () => {
        calls++;
        throw poison;
      },
      { signal: new AbortController().signal, initialMs: 60_000, maxMs: 60_000, retryable: (e) => e !== poison },
    ),
    (err) => err === poison,
  );
  assert.equal(calls, 1);
});

test('no abort listener remains on the signal after many retries and after success', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const signal = new AbortController().signal;
  let calls = 0;
  let maxListeners = 0;
  const done = retrying(
    async () => {
      maxListeners = Math.max(maxListeners, getEventListeners(signal, 'abort').length);
      if (++calls <= 50) throw new Error('down');
      return calls;
    },
    { signal, initialMs: 10, maxMs: 10 },
  );
  for (let i = 0; i < 50; i++) {
    await settle();
    assert.ok(getEventListeners(signal, 'abort').length <= 1, 'at most one listener while waiting');
    t.mock.timers.tick(10);
  }
  assert.equal(await done, 51);
  assert.equal(getEventListeners(signal, 'abort').length, 0);
  assert.ok(maxListeners <= 1);
});

test('sleep rejects at once on an already aborted signal and leaves no listener', async () => {
  const controller = new AbortController();
  controller.abort(new Error('gone'));
  await assert.rejects(sleep(60_000, controller.signal), /gone/);
  const live = new AbortController().signal;
  await sleep(1, live);
  assert.equal(getEventListeners(live, 'abort').length, 0);
});

test('retryingAfter judges and waits out the failure already seen first, then tries again from attempt 2', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const seen: Array<{ message: string; failures: number }> = [];
  const waits: number[] = [];
  const attempts: number[] = [];
  const done = retryingAfter(
    new Error('first'),
    async (attempt) => {
      attempts.push(attempt);
      if (attempt === 2) throw new Error('second');
      return 'ok';
    },
    {
      signal: new AbortController().signal,
      initialMs: 100,
      maxMs: 1000,
      retryable: (err, failures) => (seen.push({ message: (err as Error).message, failures }), true),
      onRetry: (r) => waits.push(r.delayMs),
    },
  );
  await settle();
  assert.deepEqual(attempts, [], 'the first failure is waited out before fn runs');
  t.mock.timers.tick(100);
  await settle();
  t.mock.timers.tick(200);
  assert.equal(await done, 'ok');
  assert.deepEqual(attempts, [2, 3]);
  assert.deepEqual(seen, [
    { message: 'first', failures: 1 },
    { message: 'second', failures: 2 },
  ]);
  assert.deepEqual(waits, [100, 200]);
});

test('retryingAfter rethrows a first failure retryable refuses, without calling fn', async () => {
  let called = false;
  const first = new Error('poison');
  await assert.rejects(
    retryingAfter(first, async () => ((called = true), 'ok'), {
      signal: new AbortController().signal,
      initialMs: 1,
      maxMs: 1,
      retryable: () => false,
    }),
    (err) => err === first,
  );
  assert.equal(called, false);
});
