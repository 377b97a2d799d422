import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { enterKeyQueue, markHandedOff, releaseKeyQueue, sweepKeyQueues, type QueueEntry } from '../../src/ordering/key-queue-store.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

// The key-queue functions of migration 0012 on a real Postgres, without Kafka: what a crash
// between a head's settlement and its release leaves behind, and how the sweep repairs it.

let db: TestDatabase;
let endpointId: string;
const HOUR_MS = 3_600_000;

before(async () => {
  db = await createTestDatabase('keyqueues');
  const row = await db.db
    .insertInto('webhooks.endpoints')
    .values({ name: 'ordered', url: 'https://ordered.example.com/x', event_types: ['call.ended'], ordering: 'per_key' })
    .returning('id')
    .executeTakeFirstOrThrow();
  endpointId = row.id;
});

after(() => db?.drop());

/** A claimed first attempt (its deliveries row, as the claim leaves it) and its queue entry. */
async function delivery(key: string, offset: number, partition = 0): Promise<QueueEntry> {
  const entry: QueueEntry = {
    deliveryId: randomUUID(),
    endpointId,
    source: { topic: 'dialer.events', partition, offset: String(offset) },
    key: Buffer.from(key),
    eventId: `e-${key}-${offset}`,
    eventType: 'call.ended',
    eventTimestampMs: Date.now(),
    body: Buffer.from(`{"offset":${offset}}`),
  };
  await db.db
    .insertInto('webhooks.deliveries')
    .values({
      id: entry.deliveryId,
      endpoint_id: endpointId,
      event_id: entry.eventId,
      event_type: 'call.ended',
      status: 'pending',
    })
    .execute();
  await db.pool.query(`update webhooks.deliveries set claimed_at = now(), claimed_by = gen_random_uuid() where id = $1`, [
    entry.deliveryId,
  ]);
  return entry;
}

const settle = (id: string, status: 'succeeded' | 'dead' | 'cancelled'): Promise<unknown> =>
  db.db.updateTable('webhooks.deliveries').set({ status, attempts: 1 }).where('id', '=', id).execute();

test('the first delivery of a key is its head, later ones park (losing their claim), other keys and partitions do not wait', async () => {
  const a1 = await delivery('call-A', 10);
  const a2 = await delivery('call-A', 11);
  const b1 = await delivery('call-B', 12);
  const a1p1 = await delivery('call-A', 3, 1);
  assert.equal(await enterKeyQueue(db.pool, a1), 'active');
  assert.equal(await enterKeyQueue(db.pool, a2), 'parked');
  assert.equal(await enterKeyQueue(db.pool, b1), 'active');
  assert.equal(await enterKeyQueue(db.pool, a1p1), 'active', 'another partition is another queue');
  assert.equal(await enterKeyQueue(db.pool, a2), 'parked', 'asking again gives the first answer');
  assert.equal(await enterKeyQueue(db.pool, a1), 'active');
  const parked = await db.db.selectFrom('webhooks.deliveries').selectAll().where('id', '=', a2.deliveryId).executeTakeFirstOrThrow();
  assert.equal(parked.status_reason, 'parked: waits for an earlier delivery of its key');
  const claim = await db.pool.query<{ claimed_at: Date | null }>('select claimed_at from webhooks.deliveries where id = $1', [
    a2.deliveryId,
  ]);
  assert.equal(claim.rows[0]!.claimed_at, null, 'a copy of the event skips a parked delivery');

  // The head settles: the next one becomes the head, with its body; releasing twice releases once.
  await settle(a1.deliveryId, 'succeeded');
  const released = await releaseKeyQueue(db.pool, a1.deliveryId);
  assert.deepEqual(
    released.map((r) => [r.deliveryId, r.body.toString()]),
    [[a2.deliveryId, '{"offset":11}']],
  );
  assert.deepEqual(await releaseKeyQueue(db.pool, a1.deliveryId), []);
  assert.equal(await enterKeyQueue(db.pool, a2), 'parked', 'a released head is sent by its task, not by a re-read input message');
  assert.deepEqual(await releaseKeyQueue(db.pool, a2.deliveryId), [], 'a head with nothing behind it releases nothing');
});

test('the sweep releases a head that settled without releasing, and hands off again a release the broker never acknowledged', async () => {
  const c1 = await delivery('call-C', 20);
  const c2 = await delivery('call-C', 21);
  const c3 = await delivery('call-C', 22);
  await enterKeyQueue(db.pool, c1);
  await enterKeyQueue(db.pool, c2);
  await enterKeyQueue(db.pool, c3);
  // A crash after the head's final state was written and before its release.
  await settle(c1.deliveryId, 'dead');
  const swept = await sweepKeyQueues(db.pool, HOUR_MS);
  assert.deepEqual(
    swept.map((r) => r.deliveryId),
    [c2.deliveryId],
    'the next in offset order is released, and only it',
  );
  // A crash before the hand-off was acknowledged: nothing happens within the lease, then it is handed off again, once.
  assert.deepEqual(await sweepKeyQueues(db.pool, HOUR_MS), []);
  await db.pool.query(`update webhooks.ordered_deliveries set activated_at = now() - interval '2 hours' where delivery_id = $1`, [
    c2.deliveryId,
  ]);
  assert.deepEqual(
    (await sweepKeyQueues(db.pool, HOUR_MS)).map((r) => r.deliveryId),
    [c2.deliveryId],
  );
  assert.deepEqual(await sweepKeyQueues(db.pool, HOUR_MS), [], 'taking a stale hand-off renews its lease');
  await markHandedOff(db.pool, [c2.deliveryId]);
  await db.pool.query(`update webhooks.ordered_deliveries set activated_at = now() - interval '2 hours' where delivery_id = $1`, [
    c2.deliveryId,
  ]);
  assert.deepEqual(await sweepKeyQueues(db.pool, HOUR_MS), [], 'an acknowledged hand-off is not sent again');
  const states = await db.db
    .selectFrom('webhooks.ordered_deliveries')
    .select(['delivery_id', 'state'])
    .where('delivery_id', 'in', [c1.deliveryId, c2.deliveryId, c3.deliveryId])
    .orderBy('source_offset')
    .execute();
  assert.deepEqual(
    states.map((s) => s.state),
    ['active', 'parked'],
  );
});

test('the service role may use the key queues, and the failing-streak grants are kept beside them', async () => {
  const { rows } = await db.pool.query<{ role: boolean; queues: boolean; streaks: boolean }>(
    `select exists (select 1 from pg_roles where rolname = 'webhooks_service') as role,
            has_table_privilege('webhooks_service', 'webhooks.ordered_deliveries', 'insert, update, delete') as queues,
            has_table_privilege('webhooks_service', 'webhooks.failing_streaks', 'update') as streaks`,
  );
  assert.deepEqual(rows[0], { role: true, queues: true, streaks: true });
});
