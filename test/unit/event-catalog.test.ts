import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EventCatalog, type EventTypeDefinition } from '../../src/events/catalog.ts';
import { InvalidEventError } from '../../src/errors.ts';

const call: EventTypeDefinition = {
  name: 'call.ended',
  description: 'A call completes with disposition',
  dataSchema: { type: 'object', required: ['call_id'] },
  sampleData: {},
  version: 1,
};
const lead: EventTypeDefinition = { ...call, name: 'lead.updated', dataSchema: { type: 'object' } };
const open: EventTypeDefinition = { ...call, name: 'sms.sent', dataSchema: null };

function reasonOf(fn: () => void): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof InvalidEventError);
    return `${err.reason}: ${err.message}`;
  }
  return 'accepted';
}

test('a type not in the catalog is unknown_type', () => {
  const catalog = EventCatalog.from([call]);
  assert.match(
    reasonOf(() => catalog.check('call.exploded', {})),
    /^unknown_type: unknown event type "call.exploded"/,
  );
});

test('call events need call_id and nothing else; lead.updated with only changes passes', () => {
  const catalog = EventCatalog.from([call, lead]);
  assert.equal(
    reasonOf(() => catalog.check('call.ended', { call_id: 7 })),
    'accepted',
  );
  assert.equal(
    reasonOf(() => catalog.check('call.ended', { agent: 'x' })),
    'missing_field: call.ended: data.call_id is required',
  );
  assert.equal(
    reasonOf(() => catalog.check('lead.updated', { changes: { status: 'x' } })),
    'accepted',
  );
});

test('a type without a schema accepts any object', () => {
  assert.equal(
    reasonOf(() => EventCatalog.from([open]).check('sms.sent', { anything: [1] })),
    'accepted',
  );
});

test('a tightened schema names the path at fault', () => {
  const tight = { ...call, version: 2, dataSchema: { type: 'object', properties: { duration: { type: 'number', minimum: 0 } } } };
  assert.equal(
    reasonOf(() => EventCatalog.from([tight]).check('call.ended', { duration: 'long' })),
    'invalid_data: call.ended: data.duration must be number',
  );
});

test('an unchanged version reuses the compiled schema; a new version compiles the new one', () => {
  const first = EventCatalog.from([call]);
  const same = EventCatalog.from([{ ...call }], undefined, first);
  assert.equal(
    reasonOf(() => same.check('call.ended', {})),
    'missing_field: call.ended: data.call_id is required',
  );
  const loosened = EventCatalog.from([{ ...call, version: 2, dataSchema: { type: 'object' } }], undefined, same);
  assert.equal(
    reasonOf(() => loosened.check('call.ended', {})),
    'accepted',
  );
});

test('a schema ajv cannot compile leaves only the object check, and is logged', () => {
  const errors: unknown[] = [];
  const logger = { error: (o: unknown) => errors.push(o) } as unknown as Parameters<typeof EventCatalog.from>[1];
  const bad = { ...call, dataSchema: { type: 'object', properties: { a: { pattern: '(' } } } };
  const catalog = EventCatalog.from([bad], logger);
  assert.equal(
    reasonOf(() => catalog.check('call.ended', {})),
    'accepted',
  );
  assert.equal(errors.length, 1);
});
