import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DeadlineList, type DeadlineEntry } from '../../src/delivery/deadline-list.ts';

function entry(deadline: number, expired: number[]): DeadlineEntry {
  return { deadline, expire: () => void expired.push(deadline), prevDeadline: null, nextDeadline: null };
}

test('entries expire in order once the clock has passed their deadlines, with one timer for all', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  let clock = 0;
  const list = new DeadlineList(() => clock);
  const expired: number[] = [];
  const a = entry(100, expired);
  const b = entry(150, expired);
  const c = entry(200, expired);
  for (const e of [a, b, c]) list.add(e);
  clock = 99;
  t.mock.timers.tick(99);
  assert.deepEqual(expired, []);
  clock = 150;
  t.mock.timers.tick(51);
  assert.deepEqual(expired, [100, 150]);
  assert.equal(list.size, 1);
  clock = 200;
  t.mock.timers.tick(50);
  assert.deepEqual(expired, [100, 150, 200]);
  assert.equal(list.size, 0);
});

test('a timer that fires early expires nothing and waits for the rest', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  let clock = 0;
  const list = new DeadlineList(() => clock);
  const expired: number[] = [];
  list.add(entry(100, expired));
  // The timer fires at 100 on its own clock while ours says 97: not yet.
  clock = 97;
  t.mock.timers.tick(100);
  assert.deepEqual(expired, []);
  clock = 100;
  t.mock.timers.tick(3);
  assert.deepEqual(expired, [100]);
});

test('removed entries never expire, wherever they were in the list', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  let clock = 0;
  const list = new DeadlineList(() => clock);
  const expired: number[] = [];
  const es = [100, 110, 120, 130].map((d) => entry(d, expired));
  for (const e of es) list.add(e);
  list.remove(es[0]!); // head
  list.remove(es[2]!); // middle
  list.remove(es[2]!); // twice: a no-op
  list.remove(es[3]!); // tail
  assert.equal(list.size, 1);
  clock = 200;
  t.mock.timers.tick(200);
  assert.deepEqual(expired, [110]);
  // Emptied, then used again: a new timer is armed for the new head.
  list.add(entry(300, expired));
  clock = 300;
  t.mock.timers.tick(100);
  assert.deepEqual(expired, [110, 300]);
});

test('the last removal clears the timer, so an idle list holds none', () => {
  const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  const before = timers();
  const list = new DeadlineList();
  const a = entry(performance.now() + 600_000, []);
  const b = entry(performance.now() + 600_000, []);
  list.add(a);
  list.add(b);
  assert.equal(timers(), before + 1, 'one timer for both');
  list.remove(a);
  assert.equal(timers(), before + 1, 'still armed while an entry is in flight');
  list.remove(b);
  assert.equal(timers(), before);
});
