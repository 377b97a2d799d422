import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_EVENT_ID_CHARS, producerEventId } from '../../src/events/event-id.ts';

test('a usable event-id header is taken as it is, from a string or a buffer', () => {
  assert.equal(producerEventId({ 'event-id': 'evt-1' }), 'evt-1');
  assert.equal(producerEventId({ 'event-id': Buffer.from('évt 2') }), 'évt 2');
  assert.equal(producerEventId({ 'event-id': 'x'.repeat(MAX_EVENT_ID_CHARS) }), 'x'.repeat(MAX_EVENT_ID_CHARS));
});

test('an absent, empty, blank, overlong, control-character or non-UTF-8 event-id counts as absent', () => {
  assert.equal(producerEventId(undefined), undefined);
  assert.equal(producerEventId({}), undefined);
  assert.equal(producerEventId({ 'event-id': '' }), undefined);
  assert.equal(producerEventId({ 'event-id': Buffer.alloc(0) }), undefined);
  assert.equal(producerEventId({ 'event-id': '   ' }), undefined);
  assert.equal(producerEventId({ 'event-id': 'x'.repeat(MAX_EVENT_ID_CHARS + 1) }), undefined);
  assert.equal(producerEventId({ 'event-id': 'evt\u0000nul' }), undefined);
  assert.equal(producerEventId({ 'event-id': 'line\nbreak' }), undefined);
  assert.equal(producerEventId({ 'event-id': Buffer.from([0x65, 0xff, 0xfe]) }), undefined);
});
