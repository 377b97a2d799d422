import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import {
  createEndpoint,
  deleteEndpoint,
  EndpointChangedError,
  endpointValidationError,
  findEndpoint,
  findEndpointById,
  isEndpointId,
  listEndpoints,
  setEndpointEnabled,
  updateEndpoint,
} from '../../src/endpoints/endpoint-store.ts';
import { countRecoverable, recover } from '../../src/log/delivery-queries.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

let tdb: TestDatabase;

before(async () => {
  tdb = await createTestDatabase('endpoint_store');
});

after(async () => {
  await tdb[Symbol.asyncDispose]();
});

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  assert.fail('expected the write to be rejected');
}

describe('the endpoint store', () => {
  test('a created endpoint is a camelCase record with every column, found by id and by name', async () => {
    const e = await createEndpoint(tdb.db, {
      name: 'crm-sync',
      url: 'https://crm.example.com/hooks',
      eventTypes: ['call.ended'],
      enabled: false,
      description: 'the CRM',
    });
    assert.ok(isEndpointId(e.id));
    assert.equal(e.enabled, false);
    assert.equal(e.disabledReason, null);
    assert.equal(e.description, 'the CRM');
    assert.equal(e.previousSecret, null);
    assert.equal(e.previousSecretExpiresAt, null);
    assert.ok(e.createdAt instanceof Date && e.updatedAt instanceof Date);
    assert.deepEqual(await findEndpointById(tdb.db, e.id), e);
    assert.deepEqual(await findEndpoint(tdb.db, e.id), e);
    assert.deepEqual(await findEndpoint(tdb.db, '  crm-sync '), e);
    assert.equal(await findEndpoint(tdb.db, 'no-such-endpoint'), null);
  });

  test('listEndpoints orders by name', async () => {
    await createEndpoint(tdb.db, { name: 'aaa-first', url: 'https://a.example.com/', eventTypes: ['*'] });
    const names = (await listEndpoints(tdb.db)).map((e) => e.name);
    assert.deepEqual(names, [...names].sort());
    assert.equal(names[0], 'aaa-first');
  });

  test('an update with the updatedAt it was read at is written; a stale one throws EndpointChangedError and writes nothing', async () => {
    const e = await createEndpoint(tdb.db, { name: 'concurrent', url: 'https://c.example.com/', eventTypes: ['call.ended'] });
    const first = await updateEndpoint(tdb.db, e.id, { description: 'first' }, { expectedUpdatedAt: e.updatedAt });
    assert.equal(first?.description, 'first');
    assert.ok(first!.updatedAt.getTime() >= e.updatedAt.getTime());

    // Someone changes the row in SQL meanwhile (again, should it land in the same millisecond:
    // the token has a Date's precision).
    let changedAt: Date;
    do {
      const { rows } = await tdb.pool.query<{ updated_at: Date }>(
        "update webhooks.endpoints set url = 'https://changed.example.com/' where id = $1 returning updated_at",
        [e.id],
      );
      changedAt = rows[0]!.updated_at;
    } while (changedAt.getTime() === first!.updatedAt.getTime());
    const err = await rejection(updateEndpoint(tdb.db, e.id, { description: 'second' }, { expectedUpdatedAt: first!.updatedAt }));
    assert.ok(err instanceof EndpointChangedError);
    assert.equal(err.code, 'WH_ENDPOINT_CHANGED');
    assert.equal(err.current.url, 'https://changed.example.com/');
    assert.equal(err.current.description, 'first');
    assert.equal((await findEndpointById(tdb.db, e.id))?.description, 'first');
  });

  test('updating or toggling a deleted endpoint gives null; deleting twice gives false the second time', async () => {
    const e = await createEndpoint(tdb.db, { name: 'short-lived', url: 'https://s.example.com/', eventTypes: ['*'] });
    assert.equal(await deleteEndpoint(tdb.db, e.id), true);
    assert.equal(await deleteEndpoint(tdb.db, e.id), false);
    assert.equal(await updateEndpoint(tdb.db, e.id, { description: 'x' }), null);
    assert.equal(await updateEndpoint(tdb.db, e.id, { description: 'x' }, { expectedUpdatedAt: e.updatedAt }), null);
    assert.equal(await setEndpointEnabled(tdb.db, e.id, false, 'why'), null);
    assert.equal(await updateEndpoint(tdb.db, 'not-a-uuid', { description: 'x' }), null);
  });

  test('endpointValidationError classifies a trigger rejection and a duplicate name, and nothing else', async () => {
    const typo = endpointValidationError(
      await rejection(createEndpoint(tdb.db, { name: 'typo', url: 'https://t.example.com/', eventTypes: ['call.exploded'] })),
    );
    assert.ok(typo);
    assert.match(typo.message, /unknown event type\(s\) call\.exploded/);
    assert.match(typo.hint ?? '', /^Valid event types: /);
    // Migration 0004 names the column of every rejection.
    assert.equal(typo.field, 'event_types');
    const badUrl = endpointValidationError(
      await rejection(createEndpoint(tdb.db, { name: 'bad-url', url: 'ftp://t.example.com/', eventTypes: ['*'] })),
    );
    assert.equal(badUrl?.field, 'url');
    assert.match(badUrl.message, /is not an http\(s\) URL/);

    await createEndpoint(tdb.db, { name: 'taken', url: 'https://t.example.com/', eventTypes: ['*'] });
    const duplicate = endpointValidationError(
      await rejection(createEndpoint(tdb.db, { name: 'taken', url: 'https://t.example.com/', eventTypes: ['*'] })),
    );
    assert.deepEqual(duplicate, {
      field: 'name',
      message: 'an endpoint with this name already exists',
      hint: 'Endpoint names are unique; choose another name.',
    });

    assert.equal(endpointValidationError(await rejection(tdb.pool.query('select 1/0'))), null);
    assert.equal(endpointValidationError(new Error('check_violation')), null);
    assert.equal(endpointValidationError(null), null);
  });

  test('countRecoverable counts exactly what recover() then requests again', async () => {
    const e = await createEndpoint(tdb.db, { name: 'recovering', url: 'https://r.example.com/', eventTypes: ['*'] });
    const since = new Date(Date.now() - 3_600_000);
    const insert = (status: string, attempts: number, payload: Buffer | null, lastAttemptAt: Date) =>
      tdb.pool.query(
        `insert into webhooks.deliveries (id, endpoint_id, event_id, event_type, status, attempts, payload, last_attempt_at)
         values ($1, $2, $3, 'call.ended', $4, $5, $6, $7)`,
        [randomUUID(), e.id, randomUUID(), status, attempts, payload, lastAttemptAt],
      );
    const recent = new Date();
    await insert('dead', 3, Buffer.from('{}'), recent); // counted
    await insert('cancelled', 1, Buffer.from('{}'), recent); // counted
    await insert('retrying', 2, Buffer.from('{}'), recent); // counted
    await insert('retrying', 0, Buffer.from('{}'), recent); // never attempted: not counted
    await insert('dead', 3, null, recent); // no body: skipped
    await insert('succeeded', 1, Buffer.from('{}'), recent); // not failed
    await insert('dead', 3, Buffer.from('{}'), new Date(since.getTime() - 60_000)); // before since

    assert.equal(await countRecoverable(tdb.db, e.id, since), 3);
    assert.equal(await recover(tdb.db, e.id, since), 3);
    assert.equal(await countRecoverable(tdb.db, e.id, since), 0);
  });
});

test('isEndpointId accepts canonical UUIDs in either case and nothing else', () => {
  assert.equal(isEndpointId('0b6f2a8e-3c1d-4e5f-8a9b-0c1d2e3f4a5b'), true);
  assert.equal(isEndpointId('0B6F2A8E-3C1D-4E5F-8A9B-0C1D2E3F4A5B'), true);
  assert.equal(isEndpointId('0b6f2a8e3c1d4e5f8a9b0c1d2e3f4a5b'), false);
  assert.equal(isEndpointId('crm-sync'), false);
  assert.equal(isEndpointId(' 0b6f2a8e-3c1d-4e5f-8a9b-0c1d2e3f4a5b'), false);
});
