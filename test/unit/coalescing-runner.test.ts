import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CoalescingRunner } from '../../src/util/coalescing-runner.ts';

type Reason = 'notify' | 'interval' | 'more' | 'manual';

test('runs never overlap; triggers during a run queue exactly one more, keeping the first reason', async () => {
  const runs: Reason[] = [];
  let active = 0;
  let release!: () => void;
  let gate = new Promise<void>((r) => (release = r));
  const runner = new CoalescingRunner<Reason>({
    run: async (reason) => {
      assert.equal(active++, 0, 'no overlap');
      runs.push(reason);
      await gate;
      active--;
      return null;
    },
    debounceMs: 0,
    debounced: 'notify',
    onError: (err) => assert.fail(err as Error),
  });
  runner.request('interval');
  runner.request('manual');
  runner.request('interval');
  const first = release;
  gate = Promise.resolve();
  first();
  await runner.idle();
  assert.deepEqual(runs, ['interval', 'manual']);
});

test('the debounced reason coalesces a burst into one run within a fixed window', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  let runs = 0;
  const runner = new CoalescingRunner<Reason>({
    run: async () => (runs++, null),
    debounceMs: 30,
    debounced: 'notify',
    onError: (err) => assert.fail(err as Error),
  });
  for (let i = 0; i < 10; i++) runner.request('notify');
  t.mock.timers.tick(20);
  // Later triggers do not reset the window opened by the first one.
  for (let i = 0; i < 10; i++) runner.request('notify');
  t.mock.timers.tick(9);
  await runner.idle();
  assert.equal(runs, 0, 'nothing runs before the window closes');
  t.mock.timers.tick(1);
  await runner.idle();
  assert.equal(runs, 1);
  await runner.stop();
});

test('a run that throws is reported and the runner goes on with the queued trigger and later ones', async () => {
  const runs: Reason[] = [];
  const errors: Array<{ message: string; reason: Reason }> = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const runner = new CoalescingRunner<Reason>({
    run: async (reason) => {
      runs.push(reason);
      if (runs.length === 1) {
        await gate;
        throw new Error('database down');
      }
      return null;
    },
    debounceMs: 0,
    debounced: 'notify',
    onError: (err, reason) => errors.push({ message: (err as Error).message, reason }),
  });
  runner.request('interval');
  runner.request('manual');
  release();
  await runner.idle();
  assert.deepEqual(errors, [{ message: 'database down', reason: 'interval' }]);
  assert.deepEqual(runs, ['interval', 'manual'], 'the trigger queued during the failed run still runs');
  runner.request('interval');
  await runner.idle();
  assert.deepEqual(runs, ['interval', 'manual', 'interval'], 'a later trigger runs too');
  await runner.stop();
});

test('a follow-up reason runs again at once; stop ends the chain and drops what is queued', async () => {
  const runs: Reason[] = [];
  const runner = new CoalescingRunner<Reason>({
    run: async (reason) => {
      runs.push(reason);
      return runs.length < 3 ? 'more' : null;
    },
    debounceMs: 0,
    debounced: 'notify',
    onError: (err) => assert.fail(err as Error),
  });
  runner.request('manual');
  await runner.idle();
  assert.deepEqual(runs, ['manual', 'more', 'more']);
  await runner.stop();
  await runner.stop();
  runner.request('manual');
  await runner.idle();
  assert.equal(runs.length, 3, 'nothing runs after stop');
});
