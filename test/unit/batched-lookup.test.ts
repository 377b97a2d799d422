import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BatchedLookup } from '../../src/util/batched-lookup.ts';

test('lookups made within the linger share one query for their distinct ids, and each gets only its own', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const queries: string[][] = [];
  const lookup = new BatchedLookup<number>(async (ids) => {
    queries.push(ids);
    return new Map(ids.filter((id) => id !== 'missing').map((id) => [id, id.length]));
  });
  const a = lookup.find(['ep-1']);
  const b = lookup.find(['ep-1', 'missing']);
  const c = lookup.find(['ep-22']);
  t.mock.timers.tick(1);
  assert.deepEqual([...(await a)], [['ep-1', 4]]);
  assert.deepEqual([...(await b)], [['ep-1', 4]]);
  assert.deepEqual([...(await c)], [['ep-22', 5]]);
  assert.deepEqual(queries, [['ep-1', 'missing', 'ep-22']]);

  const d = lookup.find(['ep-1']);
  t.mock.timers.tick(1);
  await d;
  assert.equal(queries.length, 2, 'a lookup after the batch ran gets a query of its own');
});

test('a failed query fails every lookup that shared it, and the next lookup queries again', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  let calls = 0;
  const lookup = new BatchedLookup<string>(async (ids) => {
    if (++calls === 1) throw new Error('connection reset');
    return new Map(ids.map((id) => [id, 'found']));
  });
  const a = lookup.find(['x']);
  const b = lookup.find(['y']);
  t.mock.timers.tick(1);
  await assert.rejects(a, /connection reset/);
  await assert.rejects(b, /connection reset/);
  const c = lookup.find(['x']);
  t.mock.timers.tick(1);
  assert.equal((await c).get('x'), 'found');
});

test('an empty lookup answers at once without a query', async () => {
  const lookup = new BatchedLookup<string>(() => Promise.reject(new Error('no query expected')));
  assert.equal((await lookup.find([])).size, 0);
});
