import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OffsetTracker } from '../../src/kafka/offset-tracker.ts';
import type { PartitionState } from '../../src/kafka/offset-committer.ts';
import { waitOnPartition } from '../../src/kafka/partition-wait.ts';

const partition = (): PartitionState => ({ topic: 't', partition: 0, tracker: new OffsetTracker(), committed: null, slotWaiters: [] });

test('a partition waiter that timed out leaves the list, so the next wake goes to one still waiting', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const state = partition();
  const stale = waitOnPartition(state, 10);
  t.mock.timers.tick(10);
  await stale;
  assert.equal(state.slotWaiters.length, 0);
  let woken = false;
  const waiting = waitOnPartition(state, 1000).then(() => (woken = true));
  state.slotWaiters.shift()?.();
  await waiting;
  assert.equal(woken, true);
});
