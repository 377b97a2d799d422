import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { startIdleMemoryReducer, type ReductionResult } from '../../src/util/idle-memory.ts';

const MiB = 1024 * 1024;

/** A reducer over a fake heap: `collect` drops it to `floor`; the test sets utilization and growth. */
function fakeHeap(floor = 20 * MiB) {
  const state = { committed: 60 * MiB, utilization: 0, collections: 0 };
  const reduced: ReductionResult[] = [];
  const reducer = startIdleMemoryReducer({
    intervalMs: 3_600_000,
    collect: () => {
      state.collections++;
      state.committed = floor;
    },
    committedBytes: () => state.committed,
    utilization: () => state.utilization,
    onReduced: (r) => reduced.push(r),
  });
  return { state, reduced, reducer };
}

test('reduces on demand and reports the committed heap before and after', (t) => {
  const { state, reduced, reducer } = fakeHeap();
  t.after(() => reducer.stop());
  const r = reducer.reduce();
  assert.equal(state.collections, 1);
  assert.deepEqual({ before: r?.beforeBytes, after: r?.afterBytes }, { before: 60 * MiB, after: 20 * MiB });
  assert.deepEqual(reduced, [r]);
});

test('an idle check reduces only when the interval was idle and the heap grew by 8 MiB since the last reduction', (t) => {
  const { state, reducer } = fakeHeap();
  t.after(() => reducer.stop());
  reducer.reduce();
  state.committed = 27 * MiB;
  assert.equal(reducer.check(), null, 'idle, grown by 7 MiB: not worth it');
  state.committed = 40 * MiB;
  state.utilization = 0.5;
  assert.equal(reducer.check(), null, 'grown, but busy: never under load');
  state.utilization = 0.01;
  assert.ok(reducer.check(), 'idle and grown by 20 MiB');
  assert.equal(state.collections, 2);
  assert.equal(reducer.check(), null, 'nothing grew since');
  assert.equal(state.collections, 2);
});

test('without gc (no --expose-gc) it does nothing', (t) => {
  const reducer = startIdleMemoryReducer({ collect: null, committedBytes: () => 100 * MiB, utilization: () => 0 });
  t.after(() => reducer.stop());
  assert.equal(reducer.reduce(), null);
  assert.equal(reducer.check(), null);
});

test("with --expose-gc it runs V8's memory-reducing collection, which shrinks the committed new space", () => {
  // In a child process of its own so the flag and the heap are its own: grow the new space with
  // short-lived garbage, then reduce. V8 keeps a grown new space committed after an ordinary full GC.
  const script = `
    import v8 from 'node:v8';
    import { startIdleMemoryReducer } from ${JSON.stringify(new URL('../../src/util/idle-memory.ts', import.meta.url).href)};
    const newSpace = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
    let keep = [];
    for (let i = 0; i < 2_000_000; i++) { keep.push({ i }); if (keep.length > 50_000) keep = []; }
    keep = null;
    const grown = newSpace();
    const reducer = startIdleMemoryReducer();
    const r = reducer.reduce();
    reducer.stop();
    console.log(JSON.stringify({ grown, after: newSpace(), reduced: r !== null }));
  `;
  const run = spawnSync(process.execPath, ['--expose-gc', '--max-semi-space-size=16', '--input-type=module', '-e', script], {
    encoding: 'utf8',
  });
  assert.equal(run.status, 0, run.stderr);
  const { grown, after, reduced } = JSON.parse(run.stdout) as { grown: number; after: number; reduced: boolean };
  assert.equal(reduced, true);
  assert.ok(after < grown, `new space ${after} bytes after the reduction, ${grown} before`);
});
