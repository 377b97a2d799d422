import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startPeriodicJob } from '../../src/util/periodic-job.ts';

test('a periodic job runs every interval, reports failures and goes on, and stops for good', async (t) => {
  t.mock.timers.enable({ apis: ['setInterval'] });
  let runs = 0;
  const errors: unknown[] = [];
  const job = startPeriodicJob({
    run: async () => {
      runs++;
      if (runs === 2) throw new Error('boom');
    },
    intervalMs: 1_000,
    onError: (err) => errors.push(err),
  });
  assert.equal(runs, 0, 'without runNow nothing runs before the first interval');
  t.mock.timers.tick(1_000);
  t.mock.timers.tick(1_000);
  t.mock.timers.tick(1_000);
  await new Promise<void>((r) => setImmediate(r));
  assert.equal(runs, 3);
  assert.equal(errors.length, 1);
  assert.equal((errors[0] as Error).message, 'boom');
  job.stop();
  job.stop();
  t.mock.timers.tick(5_000);
  assert.equal(runs, 3);
});

test('runNow runs at once; stop aborts the running run and silences its failure', async (t) => {
  t.mock.timers.enable({ apis: ['setInterval'] });
  const errors: unknown[] = [];
  let seen: AbortSignal | undefined;
  const job = startPeriodicJob({
    run: (signal) => {
      seen = signal;
      return new Promise<void>((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error)));
    },
    intervalMs: 1_000,
    onError: (err) => errors.push(err),
    runNow: true,
  });
  assert.ok(seen && !seen.aborted, 'ran at once');
  job.stop();
  await new Promise<void>((r) => setImmediate(r));
  assert.equal(seen.aborted, true);
  assert.deepEqual(errors, []);
});
