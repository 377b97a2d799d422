import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deliveryId } from '../../src/delivery/delivery-id.ts';
import { envelopeBody, nestedDeeperThan, validateEnvelope } from '../../src/events/envelope.ts';
import { MAX_EVENT_DEPTH } from '../../src/config.ts';
import { InvalidEventError } from '../../src/errors.ts';

const specExample = {
  event: 'call.ended',
  timestamp: '2026-03-07T15:30:00Z',
  data: { call_id: '12345', agent: 'jsmith', phone_number: '5551234567', duration: 180, disposition: 'SALE', campaign: 'Q1-Sales' },
};

test("the spec's example validates, extra fields pass through untouched", () => {
  const withExtra = { ...specExample, data: { ...specExample.data, crm_id: 'x-1', nested: { a: [1, 2] } } };
  const e = validateEnvelope(withExtra);
  assert.equal(e.event, 'call.ended');
  assert.equal(e.timestampMs, Date.parse('2026-03-07T15:30:00Z'));
  assert.deepEqual(JSON.parse(envelopeBody(e).toString()), withExtra);
});

const reasons: Array<[unknown, string]> = [
  [null, 'not_object'],
  [[1, 2], 'not_object'],
  ['text', 'not_object'],
  [{ timestamp: 'x', data: {} }, 'missing_field'],
  [{ event: 'call.ended', timestamp: '2026-03-07T15:30:00Z' }, 'missing_field'],
  [{ event: 42, timestamp: '2026-03-07T15:30:00Z', data: {} }, 'wrong_type'],
  [{ event: 'call.ended', timestamp: 'yesterday', data: { call_id: '1' } }, 'invalid_timestamp'],
  [{ event: 'call.ended', timestamp: 1700000000, data: { call_id: '1' } }, 'wrong_type'],
  [{ event: 'call.ended', timestamp: '2026-03-07T15:30:00Z', data: [] }, 'wrong_type'],
];

for (const [value, reason] of reasons) {
  test(`rejects ${JSON.stringify(value)?.slice(0, 80)} as ${reason}`, () => {
    assert.throws(
      () => validateEnvelope(value),
      (err: unknown) => err instanceof InvalidEventError && err.reason === reason,
    );
  });
}

test('delivery ids are UUID v5, stable, and differ per endpoint and per event', () => {
  const a = deliveryId('dialer.events/0/42', 'e1');
  assert.match(a, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(a, deliveryId('dialer.events/0/42', 'e1'));
  assert.notEqual(a, deliveryId('dialer.events/0/42', 'e2'));
  assert.notEqual(a, deliveryId('dialer.events/0/43', 'e1'));
});

function nested(depth: number): unknown {
  let v: unknown = 1;
  for (let i = 1; i < depth; i++) v = [v];
  return v;
}

test('an event nested 5,000 deep is invalid (too_deep) instead of failing later when its body is encoded', () => {
  const deep = { ...specExample, data: { ...specExample.data, extra: nested(5000) } };
  assert.throws(
    () => validateEnvelope(deep),
    (err: unknown) => err instanceof InvalidEventError && err.reason === 'too_deep',
  );
});

test('data nested exactly MAX_EVENT_DEPTH levels is accepted and its body encodes', () => {
  // data is level 1 and nested(n) holds n - 1 arrays: data ends MAX_EVENT_DEPTH levels deep.
  const ok = { ...specExample, data: { ...specExample.data, extra: nested(MAX_EVENT_DEPTH) } };
  assert.ok(envelopeBody(validateEnvelope(ok)).length > 0);
  const over = { ...specExample, data: { ...specExample.data, extra: nested(MAX_EVENT_DEPTH + 1) } };
  assert.throws(() => validateEnvelope(over), /nested more than/);
});

test('nestedDeeperThan counts objects and arrays alike, at any position, and stops at the first too deep', () => {
  // An object chain: {a: {a: … {}}} with `levels` objects.
  const objects = (levels: number): unknown => {
    let v: unknown = {};
    for (let i = 1; i < levels; i++) v = { a: v };
    return v;
  };
  assert.equal(nestedDeeperThan(objects(5), 5), false);
  assert.equal(nestedDeeperThan(objects(6), 5), true);
  // The deep branch after shallow siblings, in an array and in an object, mixed with arrays.
  assert.equal(nestedDeeperThan({ x: 1, y: [1, 2, { z: null }], w: [[{ v: [] }]] }, 5), false);
  assert.equal(nestedDeeperThan({ x: 1, y: [1, 2, { z: null }], w: [[{ v: [[]] }]] }, 5), true);
  assert.equal(nestedDeeperThan([1, 'a', null, [objects(3)]], 5), false);
  assert.equal(nestedDeeperThan([1, 'a', null, [objects(4)]], 5), true);
  // Scalars and null are level 0: never too deep.
  for (const v of [null, 1, 'text', true]) assert.equal(nestedDeeperThan(v, 0), false);
  // Inherited enumerable properties are not the value's own: not counted.
  const proto = { inherited: objects(10) };
  assert.equal(nestedDeeperThan(Object.create(proto) as object, 2), false);
  // 100,000 levels (past any call stack) are judged without overflowing it.
  assert.equal(nestedDeeperThan(objects(100_000), MAX_EVENT_DEPTH), true);
});
