import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UsageError } from '../../src/errors.ts';
import { OffsetTracker } from '../../src/kafka/offset-tracker.ts';

test('committable offset never passes an unsettled message', () => {
  const t = new OffsetTracker();
  assert.equal(t.committable(), null);
  for (const o of [10n, 11n, 12n, 13n]) t.add(o);
  assert.equal(t.committable(), 10n);
  t.complete(12n);
  t.complete(11n);
  assert.equal(t.committable(), 10n, 'offset 10 is still in flight');
  t.complete(10n);
  assert.equal(t.committable(), 13n);
  t.complete(13n);
  assert.equal(t.committable(), 14n);
  assert.equal(t.inFlight, 0);
});

test('gaps in offsets (compaction, transaction markers) are allowed', () => {
  const t = new OffsetTracker();
  t.add(5n);
  t.add(9n);
  t.complete(9n);
  assert.equal(t.committable(), 5n);
  t.complete(5n);
  assert.equal(t.committable(), 10n);
});

test('rejects offsets that go backwards', () => {
  const t = new OffsetTracker();
  t.add(5n);
  assert.throws(
    () => t.add(4n),
    (err) => err instanceof UsageError && err.code === 'WH_USAGE',
  );
});

test('random completion order agrees with a naive model', () => {
  let seed = 42;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const t = new OffsetTracker();
  const inflight: bigint[] = [];
  let next = 0n;
  for (let step = 0; step < 20000; step++) {
    if (inflight.length === 0 || (rand(3) > 0 && inflight.length < 300)) {
      next += BigInt(1 + rand(2));
      t.add(next);
      inflight.push(next);
    } else {
      const [o] = inflight.splice(rand(inflight.length), 1);
      t.complete(o!);
    }
    const expected = inflight.length > 0 ? inflight.reduce((a, b) => (a < b ? a : b)) : next + 1n;
    assert.equal(t.committable(), expected);
    assert.equal(t.inFlight, inflight.length);
  }
});

test('reset forgets a revoked partition', () => {
  const t = new OffsetTracker();
  t.add(1n);
  t.reset();
  assert.equal(t.committable(), null);
  t.add(100n);
  assert.equal(t.committable(), 100n);
});
