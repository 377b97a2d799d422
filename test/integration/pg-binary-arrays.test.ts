import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { arrayLiteral, byteaArrayLiteral, timestampText } from '../../src/db/pg-arrays.ts';
import { byteaArray, int4Array, int8Array, textArray, timestamptzArray, uuidArray } from '../../src/db/pg-binary-arrays.ts';
import { createTestDatabase, dbError, type TestDatabase } from '../support/database.ts';

let db: TestDatabase;

before(async () => {
  db = await createTestDatabase('pg_binary_arrays');
});

after(async () => {
  await db?.drop();
});

const same = <T>(v: T): T => v;

/** What Postgres reads from the binary parameter and from pg-arrays.ts's text literal of the same values, as text. */
async function bothWays(type: string, binary: Buffer | string, literal: string): Promise<[unknown, unknown]> {
  const { rows } = await db.pool.query<{ b: unknown; t: unknown }>(`select $1::${type}[]::text as b, $2::${type}[]::text as t`, [
    binary,
    literal,
  ]);
  return [rows[0]!.b, rows[0]!.t];
}

test('text elements read back exactly as given, and as their text literal reads', async () => {
  const values = ['plain', '', 'NULL', ' lead', 'a,b', '{braces}', 'say "hi"', 'back\\slash', 'ünïcødé ✓', 'a\u2028b', '😀', null, ''];
  const binary = textArray(values, same);
  assert.ok(Buffer.isBuffer(binary));
  const { rows } = await db.pool.query<{ a: Array<string | null> }>('select $1::text[] as a', [binary]);
  assert.deepEqual(rows[0]!.a, values);
  const [b, t] = await bothWays('text', binary, arrayLiteral(values));
  assert.equal(b, t);
});

test('empty arrays of every type read back as empty arrays', async () => {
  const none: never[] = [];
  const { rows } = await db.pool.query<Record<string, number>>(
    `select cardinality($1::text[]) t, cardinality($2::bytea[]) b, cardinality($3::int[]) i, cardinality($4::bigint[]) l,
            cardinality($5::timestamptz[]) ts, cardinality($6::uuid[]) u`,
    [
      textArray(none, same),
      byteaArray(none, same),
      int4Array(none, same),
      int8Array(none, same),
      timestamptzArray(none, same),
      uuidArray(none, same),
    ],
  );
  assert.deepEqual({ ...rows[0] }, { t: 0, b: 0, i: 0, l: 0, ts: 0, u: 0 });
});

test('bytea elements read back byte for byte', async () => {
  const values = [Buffer.from([0, 1, 0x5c, 0x22, 0x2c, 255]), null, Buffer.alloc(0), new Uint8Array([7, 8, 9]).subarray(1)];
  const { rows } = await db.pool.query<{ a: Array<Buffer | null> }>('select $1::bytea[] as a', [byteaArray(values, same)]);
  assert.deepEqual(
    rows[0]!.a.map((b) => (b === null ? null : [...b])),
    values.map((b) => (b === null ? null : [...b])),
  );
  const [b, t] = await bothWays('bytea', byteaArray(values, same), byteaArrayLiteral(values));
  assert.equal(b, t);
});

test('int4 and int8 elements read back as the values given, the int8 extremes included', async () => {
  const ints = [0, -1, 2147483647, -2147483648, null, 42];
  const offsets = [
    '0',
    '7',
    '-5',
    '9007199254740993',
    '999999999999999',
    '-999999999999999',
    '9223372036854775807',
    '-9223372036854775808',
    null,
  ];
  const i8 = int8Array(offsets, same);
  assert.ok(Buffer.isBuffer(i8));
  const { rows } = await db.pool.query<{ i: Array<number | null>; b: Array<string | null> }>(
    'select $1::int[] as i, $2::bigint[]::text[] as b',
    [int4Array(ints, same), i8],
  );
  assert.deepEqual(rows[0]!.i, ints);
  assert.deepEqual(rows[0]!.b, offsets);
});

test('an int8 column with an element that is no plain decimal goes as the text literal: Postgres reads or refuses it as before', async () => {
  const spaced = int8Array([' 12', '3'], same);
  assert.equal(typeof spaced, 'string');
  const { rows } = await db.pool.query<{ b: string[] }>('select $1::bigint[]::text[] as b', [spaced]);
  assert.deepEqual(rows[0]!.b, ['12', '3']);
  for (const bad of ['12a', '9223372036854775808', '1e3']) {
    const err = await dbError(db.pool.query('select $1::bigint[]', [int8Array(['1', bad], same)]));
    const before = await dbError(db.pool.query('select $1::bigint[]', [arrayLiteral(['1', bad])]));
    assert.equal(err.code, before.code, bad);
    assert.match(err.code!, /^22/, bad);
  }
});

test('uuid elements in either case read back canonical; any other spelling goes as the text literal', async () => {
  const ids = [
    '6f9619ff-8b86-d011-b42d-00cf4fc964ff',
    '6F9619FF-8B86-D011-B42D-00CF4FC964FE',
    null,
    '00000000-0000-0000-0000-000000000000',
  ];
  const binary = uuidArray(ids, same);
  assert.ok(Buffer.isBuffer(binary));
  const [b, t] = await bothWays('uuid', binary, arrayLiteral(ids));
  assert.equal(b, t);
  assert.equal(b, '{6f9619ff-8b86-d011-b42d-00cf4fc964ff,6f9619ff-8b86-d011-b42d-00cf4fc964fe,NULL,00000000-0000-0000-0000-000000000000}');

  const braces = uuidArray(['{6f9619ff-8b86-d011-b42d-00cf4fc964ff}', ids[0]!], same);
  assert.equal(typeof braces, 'string');
  const { rows } = await db.pool.query<{ u: string[] }>('select $1::uuid[]::text[] as u', [braces]);
  assert.deepEqual(rows[0]!.u, [ids[0], ids[0]]);
  for (const bad of [
    '6f9619ff-8b86-d011-b42d-00cf4fc964fg',
    '6f9619ff-8b86-d011-b42d-00cf4fc964f',
    'x'.repeat(36),
    '6f9619ff08b86-d011-b42d-00cf4fc964ff',
  ]) {
    const err = await dbError(db.pool.query('select $1::uuid[]', [uuidArray([ids[0]!, bad], same)]));
    assert.equal(err.code, '22P02', bad);
  }
});

test('timestamps name the same instants as their text elements, and Postgres refuses the same ones', async () => {
  const ms = [
    Date.UTC(2026, 11, 1, 23, 59, 59, 123),
    0,
    -1,
    946_684_800_000,
    946_684_799_999,
    1.9,
    -1.9,
    -0,
    Date.UTC(1, 0, 1) - 1, // 1 BC
    -62_135_596_800_001,
    Date.UTC(9999, 11, 31, 23, 59, 59, 999),
    8.64e15, // the last JS date, year 275760
    -2e14, // year 4368 BC
    Number.NaN,
    Number.POSITIVE_INFINITY,
    8.64e15 + 1,
  ];
  const withNull = [...ms, null];
  const [b, t] = await bothWays('timestamptz', timestamptzArray(withNull, same), arrayLiteral(withNull.map(timestampText)));
  assert.equal(b, t);
  const { rows } = await db.pool.query<{ t: Array<Date | null> }>('select $1::timestamptz[] as t', [timestamptzArray(withNull, same)]);
  assert.equal(rows[0]!.t[0]!.getTime(), ms[0]);
  assert.equal(rows[0]!.t[5]!.getTime(), 1);
  assert.equal(rows[0]!.t.at(-1), null);

  // Before Postgres's first day (4714-11-24 BC): refused both ways, with the same SQLSTATE.
  for (const early of [-8.64e15, -2.2e14]) {
    const err = await dbError(db.pool.query('select $1::timestamptz[]', [timestamptzArray([early], same)]));
    const before = await dbError(db.pool.query('select $1::timestamptz[]', [arrayLiteral([timestampText(early)])]));
    assert.equal(err.code, before.code);
    assert.equal(err.code, '22008');
  }
});
