import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { DeliveryClaims } from '../../src/log/delivery-claims.ts';
import { pruneDeliveries } from '../../src/log/delivery-retention.ts';
import { claimRequest } from '../support/claim-request.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { waitFor } from '../support/wait-for.ts';

let db: TestDatabase;

before(async () => {
  db = await createTestDatabase('claims');
});

after(async () => {
  await db?.drop();
});

const request = claimRequest;

const signal = AbortSignal.timeout(30_000);

test('two dispatchers claiming the same deliveries at once: each delivery is claimed once, the other copy waits and then skips it', async () => {
  const a = new DeliveryClaims(db.pool, { leaseMs: 60_000, pollMs: 20 });
  const b = new DeliveryClaims(db.pool, { leaseMs: 60_000, pollMs: 20 });
  const reqs = [request('evt-race', '{"n":1}'), request('evt-race', '{"n":1}')];
  const first = await a.claim(reqs, signal);
  assert.deepEqual(
    first.map((o) => o.claimed),
    [true, true],
  );
  const second = b.claim(reqs, signal);
  // The claimer records its attempts; until then the other copy waits.
  await db.pool.query("update webhooks.deliveries set status = 'succeeded', attempts = 1 where id = any($1::uuid[])", [
    reqs.map((r) => r.deliveryId),
  ]);
  assert.deepEqual(
    (await second).map((o) => o.claimed),
    [false, false],
  );
});

test('a copy handled in the same dispatcher waits for the first, and after a failed first attempt it sends', async () => {
  const claims = new DeliveryClaims(db.pool, { leaseMs: 60_000, pollMs: 20 });
  const req = request('evt-local', '{"n":2}');
  assert.equal((await claims.claim([req], signal))[0]!.claimed, true);
  const copy = claims.claim([req], signal);
  let settled = false;
  void copy.then(() => (settled = true));
  await new Promise((r) => setImmediate(r));
  assert.equal(settled, false, 'the copy waits while the first is in flight');
  claims.release([req.deliveryId]); // the first failed before recording anything
  assert.equal((await copy)[0]!.claimed, true);
});

test('a claim left by a dead dispatcher is taken over once older than the lease, not before', async () => {
  const dead = new DeliveryClaims(db.pool, { leaseMs: 60_000 });
  const req = request('evt-dead', '{"n":3}');
  await dead.claim([req], signal);
  const fresh = new DeliveryClaims(db.pool, { leaseMs: 60_000, pollMs: 20 });
  const early = new AbortController();
  const waiting = fresh.claim([req], early.signal);
  await new Promise((r) => setTimeout(r, 100));
  early.abort(new Error('still held'));
  await assert.rejects(waiting, /still held/);
  await db.pool.query("update webhooks.deliveries set claimed_at = now() - interval '2 minutes' where id = $1", [req.deliveryId]);
  assert.equal((await fresh.claim([req], signal))[0]!.claimed, true);
});

test('a different event under a colliding id (same position, other body) is claimed under a distinct delivery id', async () => {
  const claims = new DeliveryClaims(db.pool, { leaseMs: 60_000 });
  const endpointId = randomUUID();
  const old = request('in/0/7', '{"old":true}', endpointId);
  await claims.claim([old], signal);
  await db.pool.query("update webhooks.deliveries set status = 'succeeded', attempts = 1 where id = $1", [old.deliveryId]);
  claims.release([old.deliveryId]);
  const replay = await claims.claim([old], signal);
  assert.deepEqual(replay[0], { deliveryId: old.deliveryId, claimed: false }, 'the same event again is skipped');
  const other = request('in/0/7', '{"new":true}', endpointId);
  assert.equal(other.deliveryId, old.deliveryId);
  const outcome = (await claims.claim([other], signal))[0]!;
  assert.equal(outcome.claimed, true);
  assert.equal(outcome.deliveryId, other.collisionId);
  assert.notEqual(outcome.deliveryId, old.deliveryId);
});

test('retention deletes final deliveries older than DELIVERY_RETENTION_DAYS and keeps recent or unfinished ones', async () => {
  const insert = async (status: string, ageDays: number): Promise<string> => {
    const id = randomUUID();
    await db.pool.query(
      `insert into webhooks.deliveries (id, endpoint_id, event_id, event_type, status, payload, created_at, updated_at)
       values ($1, $2, 'e', 'call.ended', $3, '\\x00', now() - make_interval(days => $4), now() - make_interval(days => $4))`,
      [id, randomUUID(), status, ageDays],
    );
    return id;
  };
  const oldDone = [await insert('succeeded', 40), await insert('dead', 40), await insert('cancelled', 31)];
  const kept = [await insert('succeeded', 10), await insert('retrying', 40), await insert('pending', 40)];
  assert.equal(await pruneDeliveries(db.pool, 30), 3);
  const { rows } = await db.pool.query<{ id: string }>('select id from webhooks.deliveries where id = any($1::uuid[])', [
    [...oldDone, ...kept],
  ]);
  assert.deepEqual(rows.map((r) => r.id).sort(), [...kept].sort());
});

test('a claim given up after a failed attempt is taken over at once by another dispatcher', async () => {
  const first = new DeliveryClaims(db.pool, { leaseMs: 60_000 });
  const req = request('evt-abandoned', '{"n":5}');
  assert.equal((await first.claim([req], signal))[0]!.claimed, true);
  first.abandon([req.deliveryId]);
  const other = new DeliveryClaims(db.pool, { leaseMs: 60_000, pollMs: 20 });
  const taken = await other.claim([req], AbortSignal.timeout(5000));
  assert.equal(taken[0]!.claimed, true);
});

test('messages claiming at the same moment share one statement', async () => {
  let statements = 0;
  const counting = new Proxy(db.pool, {
    get(target, key, receiver) {
      if (key === 'query') return (...args: Parameters<typeof target.query>) => (statements++, target.query(...args));
      const v = Reflect.get(target, key, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  const claims = new DeliveryClaims(counting, { leaseMs: 60_000 });
  const outcomes = await Promise.all(
    Array.from({ length: 20 }, (_, i) => claims.claim([request(`evt-batch-${i}`, '{}'), request(`evt-batch-${i}`, '{}')], signal)),
  );
  assert.equal(outcomes.flat().filter((o) => o.claimed).length, 40);
  assert.equal(statements, 1);
});

test('a claim commits without waiting for the WAL flush, and only its own transaction runs with synchronous_commit off', async () => {
  const client = await db.pool.connect();
  try {
    const setting = async (): Promise<string> =>
      (await client.query<{ v: string }>("select current_setting('synchronous_commit') as v")).rows[0]!.v;
    const before = await setting();
    assert.notEqual(before, 'off');
    await client.query('begin');
    const claims = new DeliveryClaims(client, { leaseMs: 60_000, pollMs: 20 });
    assert.equal((await claims.claim([request('evt-async', '{"n":9}')], signal))[0]!.claimed, true);
    // Inside the claim's transaction (here an explicit one, so it can be read): off.
    assert.equal(await setting(), 'off');
    await client.query('commit');
    // After it, the connection is as it was: the delivery log's writes on it still wait for the flush.
    assert.equal(await setting(), before);
  } finally {
    client.release();
  }
});

test('claims asked while two claim statements run wait and share the next statement', async () => {
  let statements = 0;
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const held = new Proxy(db.pool, {
    get(target, key, receiver) {
      if (key === 'query')
        return async (...args: Parameters<typeof target.query>) => {
          statements++;
          await gate;
          return target.query(...args);
        };
      const v = Reflect.get(target, key, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  const claims = new DeliveryClaims(held, { leaseMs: 60_000 });
  const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
  const first = claims.claim([request('evt-held-1', '{}')], signal);
  await waitFor(() => statements === 1, { what: 'the first statement', timeoutMs: 10_000 });
  const second = claims.claim([request('evt-held-2', '{}')], signal);
  await waitFor(() => statements === 2, { what: 'the second statement', timeoutMs: 10_000 });
  const later = [claims.claim([request('evt-held-3', '{}')], signal)];
  await turn();
  later.push(claims.claim([request('evt-held-4', '{}'), request('evt-held-5', '{}')], signal));
  for (let i = 0; i < 5; i++) await turn();
  assert.equal(statements, 2, 'no third statement while two run');
  open();
  const outcomes = await Promise.all([first, second, ...later]);
  assert.equal(outcomes.flat().filter((o) => o.claimed).length, 5);
  assert.equal(statements, 3, 'the claims asked meanwhile went in one statement');
});
