import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { arrayLiteral, byteaArrayLiteral, timestampText } from '../../src/db/pg-arrays.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

let db: TestDatabase;

before(async () => {
  db = await createTestDatabase('pg_arrays');
});

after(async () => {
  await db?.drop();
});

// Elements that need quotes (or not) in an array literal: what Postgres reads back must be the input.
const TEXTS = [
  'plain',
  '',
  'NULL',
  'null',
  'Null',
  'nul',
  'NULLS',
  ' lead',
  'trail ',
  'in side',
  'tab\there',
  'new\nline',
  'a,b',
  '{braces}',
  'say "hi"',
  'back\\slash',
  '\\',
  '"',
  'ünïcødé ✓',
  '\u00a0nbsp',
  'a\u2028b',
  '6f9619ff-8b86-d011-b42d-00cf4fc964ff',
  '2026-12-01T23:59:59.123Z',
  'topic.with-dashes_and.dots',
  "o'quote",
];

test('text elements read back by Postgres exactly as given, quoted or not, NULL only for null', async () => {
  const values = [...TEXTS, null, undefined];
  const { rows } = await db.pool.query<{ a: Array<string | null> }>('select $1::text[] as a', [arrayLiteral(values)]);
  assert.deepEqual(
    rows[0]!.a,
    values.map((v) => v ?? null),
  );
});

test('numbers, bigints, uuids and timestamps read back as the values given', async () => {
  const { rows } = await db.pool.query<{ i: number[]; b: string[]; u: string[]; t: Date[] }>(
    'select $1::int[] as i, $2::bigint[]::text[] as b, $3::uuid[]::text[] as u, $4::timestamptz[] as t',
    [
      arrayLiteral([0, -1, 2147483647, -2147483648]),
      arrayLiteral([9007199254740993n, '12', -5]),
      arrayLiteral(['6f9619ff-8b86-d011-b42d-00cf4fc964ff']),
      arrayLiteral([timestampText(Date.UTC(2026, 11, 1, 23, 59, 59, 123)), timestampText(-62_135_596_800_001)]),
    ],
  );
  assert.deepEqual(rows[0]!.i, [0, -1, 2147483647, -2147483648]);
  assert.deepEqual(rows[0]!.b, ['9007199254740993', '12', '-5']);
  assert.deepEqual(rows[0]!.u, ['6f9619ff-8b86-d011-b42d-00cf4fc964ff']);
  assert.equal(rows[0]!.t[0]!.getTime(), Date.UTC(2026, 11, 1, 23, 59, 59, 123));
  // 1 BC (ISO year 0), written with a space: it must still be one element.
  assert.equal(rows[0]!.t.length, 2);
});

test('bytea elements read back byte for byte', async () => {
  const values = [Buffer.from([0, 1, 0x5c, 0x22, 0x2c, 255]), null, Buffer.alloc(0), new Uint8Array([7, 8, 9]).subarray(1)];
  const { rows } = await db.pool.query<{ a: Array<Buffer | null> }>('select $1::bytea[] as a', [byteaArrayLiteral(values)]);
  assert.deepEqual(
    rows[0]!.a.map((b) => (b === null ? null : [...b])),
    values.map((b) => (b === null ? null : [...b])),
  );
});
