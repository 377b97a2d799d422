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

test('the debounced reason coalesces a burst into one run within a fixed window', async () => {
  let runs = 0;
  const runner = new CoalescingRunner<Reason>({ run: async () => (runs++, null), debounceMs: 30, debounced: 'notify' });
  for (let i = 0; i < 20; i++) runner.request('notify');
  await new Promise((r) => setTimeout(r, 80));
  await runner.idle();
  assert.equal(runs, 1);
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
