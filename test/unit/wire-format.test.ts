import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isWireFormat } from '../../src/events/registry-decoder.ts';

test('accepts magic byte 0 followed by a 4-byte schema id', () => {
  assert.equal(isWireFormat(Uint8Array.of(0, 0, 0, 0, 1)), true);
});

test('accepts a header followed by a payload', () => {
  assert.equal(isWireFormat(Buffer.from([0, 0, 0, 0x30, 0x39, 0x0a, 0x02, 0x68, 0x69])), true);
});

test('rejects a value too short to hold the schema id', () => {
  for (const length of [0, 1, 2, 3, 4]) {
    assert.equal(isWireFormat(new Uint8Array(length)), false, `length ${length}`);
  }
});

test('rejects any other first byte', () => {
  for (const first of [1, 0x7b /* { */, 0x5b /* [ */, 0x20, 0xff]) {
    assert.equal(isWireFormat(Uint8Array.of(first, 0, 0, 0, 1, 2)), false, `first byte ${first}`);
  }
});

test('rejects plain JSON events', () => {
  assert.equal(isWireFormat(Buffer.from('{"event":"call.ended","timestamp":"2026-03-07T15:30:00Z","data":{}}')), false);
});

test('looks at a view, not at the underlying buffer', () => {
  const backing = Uint8Array.of(7, 0, 0, 0, 0, 1, 9);
  assert.equal(isWireFormat(backing.subarray(1)), true);
  assert.equal(isWireFormat(backing.subarray(0, 6)), false);
});
