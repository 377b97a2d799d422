import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KeyTurns } from '../../src/ordering/key-turns.ts';

const key = (s: string): Buffer => Buffer.from(s);
const settled = async (p: Promise<void>): Promise<boolean> => {
  let done = false;
  void p.then(() => (done = true));
  await new Promise((r) => setImmediate(r));
  return done;
};

test('a later message of a key waits until the earlier one has ended its turn', async () => {
  const turns = new KeyTurns();
  const first = turns.take('t', 0, key('call-1'));
  const second = turns.take('t', 0, key('call-1'));
  assert.equal(await settled(first.ready), true);
  assert.equal(await settled(second.ready), false);
  first.done();
  assert.equal(await settled(second.ready), true);
});

test('a turn ended early still waits for the turns before it', async () => {
  const turns = new KeyTurns();
  const first = turns.take('t', 0, key('k'));
  const second = turns.take('t', 0, key('k'));
  const third = turns.take('t', 0, key('k'));
  second.done();
  assert.equal(await settled(third.ready), false, 'the second ended, the first has not');
  first.done();
  assert.equal(await settled(third.ready), true);
});

test('other keys and other partitions do not wait, and ended lines are forgotten', async () => {
  const turns = new KeyTurns();
  const a = turns.take('t', 0, key('a'));
  const b = turns.take('t', 0, key('b'));
  const a1 = turns.take('t', 1, key('a'));
  assert.equal(await settled(b.ready), true);
  assert.equal(await settled(a1.ready), true);
  a.done();
  b.done();
  a1.done();
  a1.done();
  await new Promise((r) => setImmediate(r));
  assert.equal(turns.size, 0);
});
