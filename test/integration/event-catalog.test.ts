import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { findEventTypes } from '../../src/events/catalog-reads.ts';
import { headerString } from '../../src/retry/retry-message.ts';
import { dbError } from '../support/database.ts';
import { openDispatcherFixture, type DispatcherFixture } from '../support/service.ts';
import { SAMPLE_DATA, SPEC_EVENT_TYPES } from '../support/spec-catalog.ts';
import { waitFor } from '../support/wait-for.ts';

const SECRET = 'whsec_' + Buffer.alloc(32, 9).toString('base64');

let f: DispatcherFixture;

function event(type: string, data: Record<string, unknown>): string {
  return JSON.stringify({ event: type, timestamp: new Date().toISOString(), data });
}

async function invalidFor(marker: string): Promise<{ reason: string; error: string }> {
  const m = await waitFor(
    async () => (await f.kafka.readAll(f.service.topics.invalid)).find((x) => x.value?.toString('utf8').includes(marker)),
    { what: `the event ${marker} on the invalid topic`, timeoutMs: 20_000 },
  );
  return { reason: headerString(m.headers, 'error-reason') ?? '', error: headerString(m.headers, 'error-message') ?? '' };
}

before(async () => {
  // Periodic reloads an hour apart: whatever the dispatcher picks up here, it heard by NOTIFY.
  f = await openDispatcherFixture('event_catalog', {
    secret: SECRET,
    endpoints: [['all', 200]],
    eventTypes: ['*'],
    env: { ENDPOINT_RELOAD_INTERVAL_MS: '3600000', RETRY_DELAYS: '10m' },
  });
});

after(() => f?.close());

test('the seeded catalog is the spec: nine types, call events require call_id, the others only an object', async () => {
  const types = await findEventTypes(f.db.db);
  assert.deepEqual(types.map((t) => t.name).sort(), [...SPEC_EVENT_TYPES].sort());
  for (const t of types) {
    assert.deepEqual(t.dataSchema, t.name.startsWith('call.') ? { type: 'object', required: ['call_id'] } : { type: 'object' });
    assert.deepEqual(t.sampleData, SAMPLE_DATA[t.name]);
    assert.ok(t.description.length > 0);
  }
});

test('lead.updated with only changes, and an agent event without agent, are delivered', async () => {
  await f.kafka.produce(f.input, [
    { value: event('lead.updated', { changes: { status: 'won' }, marker: 'lead-only-changes' }) },
    { value: event('agent.login', { user: 'jsmith', marker: 'agent-no-agent' }) },
  ]);
  await f.receiver.waitFor(
    (r) => ['lead-only-changes', 'agent-no-agent'].every((m) => r.some((x) => x.json.data.marker === m)),
    20_000,
    'both events at /all',
  );
});

test('an admin adds sms.sent with one insert and a subscribed endpoint receives it, with no restart', async () => {
  const reloaded = new Promise((resolve) => f.service.catalog.once('reloaded', resolve));
  await f.db.pool.query(
    `insert into webhooks.event_types (name, description, data_schema, sample_data)
     values ('sms.sent', 'An SMS message is sent', '{"type": "object", "required": ["to"]}', '{"to": "5551234567"}')`,
  );
  await reloaded;
  await f.db.pool.query(`insert into webhooks.endpoints (name, url, secret, event_types) values ('sms', $1, $2, array['sms.sent'])`, [
    f.receiver.route('/sms', SECRET),
    SECRET,
  ]);
  await waitFor(() => f.service.endpoints.current().size === 2, { what: 'the sms endpoint in the index', timeoutMs: 10_000 });
  await f.kafka.produce(f.input, [{ value: event('sms.sent', { to: '5551234567', marker: 'sms-1' }) }]);
  await f.receiver.waitFor((r) => r.some((x) => x.path === '/sms' && x.json.data.marker === 'sms-1'), 20_000, 'sms.sent at /sms');
  const got = f.receiver.to('/sms')[0]!;
  assert.equal(got.headers['x-webhook-event'], 'sms.sent');
  assert.ok(got.specSignatureValid);

  await f.kafka.produce(f.input, [{ value: event('sms.sent', { marker: 'sms-no-to' }) }]);
  assert.deepEqual(await invalidFor('sms-no-to'), { reason: 'missing_field', error: 'sms.sent: data.to is required' });
});

test('a schema an admin tightened sends a non-conforming event to the invalid topic with its reason', async () => {
  const reloaded = new Promise((resolve) => f.service.catalog.once('reloaded', resolve));
  await f.db.pool.query(
    `update webhooks.event_types
        set data_schema = '{"type": "object", "required": ["call_id"], "properties": {"duration": {"type": "integer", "minimum": 0}}}'
      where name = 'call.ended'`,
  );
  await reloaded;
  await f.kafka.produce(f.input, [
    { value: event('call.ended', { call_id: 'c1', duration: 'long', marker: 'tight-bad' }) },
    { value: event('call.ended', { call_id: 'c2', duration: 61, marker: 'tight-good' }) },
  ]);
  assert.deepEqual(await invalidFor('tight-bad'), { reason: 'invalid_data', error: 'call.ended: data.duration must be integer' });
  await f.receiver.waitFor((r) => r.some((x) => x.json.data.marker === 'tight-good'), 20_000, 'the conforming event');
  assert.ok(!f.receiver.requests.some((x) => x.json.data.marker === 'tight-bad'));
});

test('an invalid schema is refused at insert and at update with the path at fault', async () => {
  const typo = await dbError(
    f.db.pool.query(
      `insert into webhooks.event_types (name, description, data_schema) values ('sms.failed', 'x', '{"type": "object", "requird": ["to"]}')`,
    ),
  );
  assert.equal(
    typo.message,
    'webhooks.event_types: invalid JSON Schema for sms.failed: data_schema has an unknown JSON Schema keyword "requird"',
  );
  const badType = await dbError(
    f.db.pool.query(`update webhooks.event_types set data_schema = '{"properties": {"to": {"type": "text"}}}' where name = 'sms.sent'`),
  );
  assert.match(
    badType.message,
    /^webhooks\.event_types: invalid JSON Schema for sms\.sent: data_schema\.properties\.to\.type "text" is not a JSON Schema type/,
  );
  const required = await dbError(
    f.db.pool.query(`update webhooks.event_types set data_schema = '{"required": "to"}' where name = 'sms.sent'`),
  );
  assert.match(required.message, /data_schema\.required must be an array of property names/);
  const name = await dbError(f.db.pool.query(`insert into webhooks.event_types (name, description) values ('SMS', 'x')`));
  assert.match(name.message, /name "SMS" must be dotted lower-case words/);
});
