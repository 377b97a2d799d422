import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pgInt, pgText, pgTimestamp } from '../../src/db/postgres-values.ts';
import { isDataError } from '../../src/db/pg-errors.ts';

test('pgText replaces NUL bytes and lone surrogates with U+FFFD and keeps valid pairs', () => {
  assert.equal(pgText('a\u0000b', 100), 'a\uFFFDb');
  assert.equal(pgText('x\uD800y\uDC00', 100), 'x\uFFFDy\uFFFD');
  assert.equal(pgText('emoji \u{1F600}', 100), 'emoji \u{1F600}');
  assert.equal(pgText(null, 100), null);
});

test('pgText cuts to the limit without leaving half a surrogate pair', () => {
  assert.equal(pgText('abcdef', 3), 'abc');
  const cut = pgText('ab\u{1F600}', 3);
  assert.equal(cut, 'ab\uFFFD');
  assert.ok(cut.isWellFormed());
});

test('pgTimestamp and pgInt turn values Postgres would refuse into null or the int4 range', () => {
  assert.equal(pgTimestamp(Number.NaN), null);
  assert.equal(pgTimestamp(1e20), null);
  assert.equal(pgTimestamp(0)?.toISOString(), '1970-01-01T00:00:00.000Z');
  assert.equal(pgInt(1e12), 2_147_483_647);
  assert.equal(pgInt(-1e12), -2_147_483_648);
  assert.equal(pgInt(Number.POSITIVE_INFINITY), null);
  assert.equal(pgInt(12.6), 13);
});

test('isDataError holds for SQLSTATE classes 22 and 23 only, by code', () => {
  assert.equal(isDataError({ code: '22021' }), true);
  assert.equal(isDataError({ code: '23514' }), true);
  assert.equal(isDataError({ code: '57P01' }), false);
  assert.equal(isDataError({ code: '55P03' }), false);
  assert.equal(isDataError({ code: 'ECONNREFUSED' }), false);
  assert.equal(isDataError(new Error('invalid byte sequence 22021')), false);
});
