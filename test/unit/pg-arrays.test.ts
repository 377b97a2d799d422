import assert from 'node:assert/strict';
import { test } from 'node:test';
import { arrayLiteral, byteaArrayLiteral, timestampText } from '../../src/db/pg-arrays.ts';

test('arrayLiteral quotes only the elements that need it, escapes backslash and double quote, and writes null as NULL', () => {
  assert.equal(arrayLiteral([]), '{}');
  assert.equal(arrayLiteral(['a', '', 'NULL', 'null', null, undefined]), '{a,"","NULL","null",NULL,NULL}');
  assert.equal(arrayLiteral(['say "hi"', 'back\\slash', 'a,b {c}', ' x', 'y\t']), '{"say \\"hi\\"","back\\\\slash","a,b {c}"," x","y\t"}');
  assert.equal(arrayLiteral([1, -2, 0, 2147483647, 12n]), '{1,-2,0,2147483647,12}');
  assert.equal(
    arrayLiteral(['6f9619ff-8b86-d011-b42d-00cf4fc964ff', '2026-12-01T23:59:59.123Z']),
    '{6f9619ff-8b86-d011-b42d-00cf4fc964ff,2026-12-01T23:59:59.123Z}',
  );
});

test('byteaArrayLiteral writes hex escapes, as node-postgres does', () => {
  assert.equal(byteaArrayLiteral([Buffer.from([0, 1, 255]), null, Buffer.alloc(0)]), '{\\\\x0001ff,NULL,\\\\x}');
  assert.equal(byteaArrayLiteral([new Uint8Array([1, 2, 3]).subarray(1)]), '{\\\\x0203}');
});

test('timestampText writes UTC ISO 8601 and the years outside 1-9999 as Postgres reads them', () => {
  assert.equal(timestampText(0), '1970-01-01T00:00:00.000Z');
  assert.equal(timestampText(Date.UTC(2026, 11, 1, 23, 59, 59, 123)), '2026-12-01T23:59:59.123Z');
  assert.equal(timestampText(8.64e15), '275760-09-13T00:00:00.000Z');
  assert.equal(timestampText(Date.UTC(10000, 0, 1)), '10000-01-01T00:00:00.000Z');
  // ISO year 0 is 1 BC, year -1 is 2 BC.
  assert.equal(timestampText(-62_135_596_800_001), '0001-12-31T23:59:59.999Z BC');
  assert.equal(timestampText(-62_198_755_200_000), '0002-01-01T00:00:00.000Z BC');
  assert.equal(timestampText(null), null);
  assert.equal(timestampText(Number.NaN), null);
  assert.equal(timestampText(Number.POSITIVE_INFINITY), null);
  assert.equal(timestampText(8.64e15 + 1), null);
});

test('timestampText gives what toISOString gives for any ms in years 1-9999, from its cache of seconds too', () => {
  const samples = [
    0,
    1,
    999,
    1000,
    -1,
    -999,
    -1000,
    -1001,
    Date.UTC(2026, 11, 1, 23, 59, 59, 999),
    -62_135_596_800_000,
    253_402_300_799_999,
  ];
  for (let i = 0; i < 2000; i++) samples.push(Math.floor((Math.random() * 2 - 1) * 1e13));
  for (const ms of [...samples, ...samples]) assert.equal(timestampText(ms), new Date(ms).toISOString(), String(ms));
  assert.equal(timestampText(1.5), '1970-01-01T00:00:00.001Z');
});
