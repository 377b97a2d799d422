import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Service } from '../../src/service.ts';
import { uniqueName } from '../support/kafka.ts';
import { startTestService } from '../support/service.ts';
import { waitFor } from '../support/wait-for.ts';
import { openDispatcherFixture, type DispatcherFixture } from '../support/service.ts';

const SECRET = 'whsec_' + Buffer.alloc(32, 4).toString('base64');

let f: DispatcherFixture;

function event(callId: string): string {
  return JSON.stringify({ event: 'call.ended', timestamp: new Date().toISOString(), data: { call_id: callId, agent: 'a' } });
}

before(async () => {
  f = await openDispatcherFixture('delivery_ids', { secret: SECRET, endpoints: [['crm', 200]] });
});

after(() => f?.close());

const callIds = (): string[] => f.receiver.requests.map((r) => String(r.json.data.call_id));

test('two different events with an empty event-id header are both delivered, under distinct webhook-ids', async () => {
  await f.kafka.produce(f.input, [
    { value: event('empty-1'), headers: { 'event-id': '' }, partition: 0 },
    { value: event('empty-2'), headers: { 'event-id': '' }, partition: 0 },
  ]);
  await waitFor(() => callIds().includes('empty-1') && callIds().includes('empty-2'), { what: 'both events delivered', timeoutMs: 20_000 });
  const ids = f.receiver.requests.filter((r) => String(r.json.data.call_id).startsWith('empty-')).map((r) => r.headers['webhook-id']);
  assert.equal(new Set(ids).size, 2);
});

test('after the input topic is deleted and created again, a new event at a reused offset is delivered, not skipped as a replay', async () => {
  const topic = uniqueName('recreated');
  await f.kafka.createTopic(topic, 1);
  await f.kafka.produce(topic, [{ value: event('before-recreate') }]);
  let service: Service = await startTestService({ ...f.env, INPUT_TOPICS: topic, CONSUMER_GROUP: uniqueName('g1') });
  try {
    await waitFor(() => callIds().includes('before-recreate'), { what: 'the first event delivered', timeoutMs: 20_000 });
  } finally {
    await service.stop();
  }
  await f.kafka.admin.deleteTopics({ topics: [topic] });
  await waitFor(async () => !(await f.kafka.admin.listTopics()).includes(topic), { what: 'topic deleted', timeoutMs: 20_000 });
  await f.kafka.createTopic(topic, 1);
  await f.kafka.produce(topic, [{ value: event('after-recreate') }]);
  service = await startTestService({ ...f.env, INPUT_TOPICS: topic, CONSUMER_GROUP: uniqueName('g2') });
  try {
    await waitFor(() => callIds().includes('after-recreate'), { what: 'the new event at offset 0 delivered', timeoutMs: 20_000 });
    const { rows } = await f.db.pool.query<{ n: number }>(
      'select count(distinct id)::int as n from webhooks.deliveries where event_id = $1',
      [`${topic}/0/0`],
    );
    assert.equal(rows[0]!.n, 2, 'two deliveries for the two events at the same position');
  } finally {
    await service.stop();
  }
});
