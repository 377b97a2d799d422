import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Pacer, pace, planTopic, totalOffsets } from '../../src/replay/replay-plan.ts';

describe('planTopic', () => {
  const marks = [
    { partition: 1, low: '0', high: '10' },
    { partition: 0, low: '5', high: '20' },
  ];

  test('reads from the offset of since up to the high watermark, partitions in order', () => {
    const ranges = planTopic(
      't',
      marks,
      [
        { partition: 0, offset: '12' },
        { partition: 1, offset: '3' },
      ],
      null,
    );
    assert.deepEqual(ranges, [
      { topic: 't', partition: 0, start: 12, end: 20, mayBeTruncated: false },
      { topic: 't', partition: 1, start: 3, end: 10, mayBeTruncated: false },
    ]);
    assert.equal(totalOffsets(ranges), 15);
  });

  test('stops at the offset of until', () => {
    const ranges = planTopic(
      't',
      marks,
      [
        { partition: 0, offset: '12' },
        { partition: 1, offset: '3' },
      ],
      [
        { partition: 0, offset: '15' },
        { partition: 1, offset: '3' },
      ],
    );
    assert.deepEqual(
      ranges.map((r) => [r.start, r.end]),
      [
        [12, 15],
        [3, 3],
      ],
    );
  });

  test('a start at the low watermark of a partition that lost messages may be truncated', () => {
    const [p0, p1] = planTopic(
      't',
      marks,
      [
        { partition: 0, offset: '5' },
        { partition: 1, offset: '0' },
      ],
      null,
    );
    assert.equal(p0!.mayBeTruncated, true, 'messages below offset 5 were deleted');
    assert.equal(p1!.mayBeTruncated, false, 'nothing was ever deleted from partition 1');
  });

  test('offsets outside the partition are clamped; an empty range is never truncated', () => {
    const ranges = planTopic(
      't',
      marks,
      [
        { partition: 0, offset: '2' },
        { partition: 1, offset: '99' },
      ],
      null,
    );
    assert.deepEqual(
      ranges.map((r) => [r.start, r.end, r.mayBeTruncated]),
      [
        [5, 20, true],
        [10, 10, false],
      ],
    );
  });

  test('a partition the broker gave no offset for reads nothing', () => {
    const ranges = planTopic('t', marks, [{ partition: 0, offset: '6' }], null);
    assert.deepEqual(ranges[1], { topic: 't', partition: 1, start: 10, end: 10, mayBeTruncated: false });
  });
});

describe('pace', () => {
  test('offsets per second so far and the time left at that pace', () => {
    assert.deepEqual(pace({ scanned: 0, deliveries: 0, offsetsDone: 200, totalOffsets: 1000, elapsedMs: 2000 }), {
      offsetsPerSecond: 100,
      etaMs: 8000,
    });
  });

  test('no ETA before there is a pace, and 0 once done', () => {
    assert.equal(pace({ scanned: 0, deliveries: 0, offsetsDone: 0, totalOffsets: 10, elapsedMs: 500 }).etaMs, null);
    assert.equal(pace({ scanned: 0, deliveries: 0, offsetsDone: 10, totalOffsets: 10, elapsedMs: 500 }).etaMs, 0);
  });
});

describe('Pacer', () => {
  test('spaces deliveries 1000/rate ms apart', () => {
    const pacer = new Pacer(100);
    assert.deepEqual(
      [0, 0, 0, 5].map((now) => pacer.wait(now)),
      [0, 10, 20, 25],
    );
  });

  test('a pause earns no burst afterwards', () => {
    const pacer = new Pacer(10);
    assert.equal(pacer.wait(0), 0);
    assert.equal(pacer.wait(5000), 0);
    assert.equal(pacer.wait(5000), 100);
  });

  test('refuses a rate that is not positive', () => {
    assert.throws(() => new Pacer(0), RangeError);
  });
});
