import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { MigrationError } from '../../src/errors.ts';
import type { Service } from '../../src/service.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { openTestKafka, type TestKafka } from '../support/kafka.ts';
import { TestReceiver } from '../support/receiver.ts';
import { startTestService, testEnv } from '../support/service.ts';

// Subscriptions as code: an admin's folder of numbered SQL files (ADMIN_MIGRATIONS_DIR), applied by
// the service at start after its own migrations, recorded as migration_set 'admin', with secrets
// taken from the environment through :'NAME' variables.

const CRM_SECRET = 'whsec_' + Buffer.alloc(32, 21).toString('base64');

let db: TestDatabase;
let kafka: TestKafka;
let receiver: TestReceiver;
let dir: string;
let env: Record<string, string>;
let input: string;

before(async () => {
  db = await createTestDatabase('admin_migrations');
  kafka = await openTestKafka('admin-migrations');
  receiver = await TestReceiver.start();
  dir = await mkdtemp(join(tmpdir(), 'wh-admin-'));
  await writeFile(
    join(dir, '0001_crm_endpoints.sql'),
    `-- The CRM gets call outcomes and lead changes. Its secret comes from the environment.
insert into webhooks.endpoints (name, url, event_types, secret)
values ('crm-sync', :'CRM_URL', array['call.ended', 'lead.updated'], :'CRM_SECRET');
`,
  );
  env = testEnv(db.url, 'adminmig', {
    MIGRATE_ON_START: 'true',
    ADMIN_MIGRATIONS_DIR: dir,
    CRM_SECRET,
    CRM_URL: receiver.route('/crm', CRM_SECRET),
  });
  input = env.INPUT_TOPICS!;
});

after(async () => {
  await receiver?.close();
  await kafka?.close();
  await db?.drop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function ledger(): Promise<Array<{ version: number; name: string; applied_at: Date }>> {
  const { rows } = await db.pool.query(
    `select version, name, applied_at from webhooks.schema_migrations where migration_set = 'admin' order by version`,
  );
  return rows;
}

async function crm(): Promise<Array<{ id: string; secret: string; event_types: string[] }>> {
  const { rows } = await db.pool.query(`select id, secret, event_types from webhooks.endpoints where name = 'crm-sync'`);
  return rows;
}

async function withService<T>(fn: (service: Service) => Promise<T>, extra: Record<string, string> = {}): Promise<T> {
  const service = await startTestService({ ...env, ...extra });
  try {
    return await fn(service);
  } finally {
    await service.stop();
  }
}

function event(type: string, data: Record<string, unknown>): string {
  return JSON.stringify({ event: type, timestamp: new Date().toISOString(), data });
}

test('an admin migration folder is applied at start, once, with the secret from the environment', async () => {
  await withService(async (service) => {
    const [endpoint, ...more] = await crm();
    assert.equal(more.length, 0);
    assert.equal(endpoint!.secret, CRM_SECRET, 'the :CRM_SECRET variable came from the environment');
    assert.deepEqual(endpoint!.event_types, ['call.ended', 'lead.updated']);
    assert.ok(service.endpoints.get(endpoint!.id), 'the running dispatcher has it');

    // It receives, signed with the secret from the environment.
    await kafka.produce(input, [{ value: event('call.ended', { call_id: 'c1', agent: 'jsmith', duration: 1, disposition: 'SALE' }) }]);
    await receiver.waitFor((r) => r.some((x) => x.path === '/crm'), 20_000, 'a request at /crm');
    const [req] = receiver.to('/crm');
    assert.ok(req!.specSignatureValid && req!.standardSignatureValid);
  });
  const first = await ledger();
  assert.deepEqual(
    first.map((r) => [r.version, r.name]),
    [[1, '0001_crm_endpoints.sql']],
  );

  // A second start applies nothing (a second insert would even fail on the unique name).
  await withService(async () => {});
  assert.deepEqual(await ledger(), first, 'recorded once, at the first start');
  assert.equal((await crm()).length, 1);
});

test('a change in a new file takes effect at the next start', async () => {
  await writeFile(
    join(dir, '0002_crm_recordings.sql'),
    `update webhooks.endpoints set event_types = event_types || 'recording.ready'::text where name = 'crm-sync';\n`,
  );
  await withService(async (service) => {
    const [endpoint] = await crm();
    assert.deepEqual(endpoint!.event_types, ['call.ended', 'lead.updated', 'recording.ready']);
    assert.deepEqual(service.endpoints.get(endpoint!.id)?.eventTypes, ['call.ended', 'lead.updated', 'recording.ready']);
    const before = receiver.to('/crm').length;
    await kafka.produce(input, [
      { value: event('recording.ready', { recording_id: 'r1', call_id: 'c1', url: 'https://rec.example/r1.mp3' }) },
    ]);
    await receiver.waitFor((r) => r.filter((x) => x.path === '/crm').length > before, 20_000, 'the recording at /crm');
    assert.equal(receiver.to('/crm').at(-1)!.json.event, 'recording.ready');
  });
  assert.deepEqual(
    (await ledger()).map((r) => r.version),
    [1, 2],
  );
});

test('a missing variable fails the start with a message naming it, and applies nothing', async () => {
  await writeFile(
    join(dir, '0003_crm_new_secret.sql'),
    `update webhooks.endpoints set secret = :'CRM_NEXT_SECRET' where name = 'crm-sync';\n`,
  );
  await assert.rejects(startTestService(env), (err: unknown) => {
    assert.ok(err instanceof MigrationError, `a MigrationError, got ${String(err)}`);
    assert.match(
      err.message,
      /0003_crm_new_secret\.sql: variable :'CRM_NEXT_SECRET' is not set \(set environment variable CRM_NEXT_SECRET\)/,
    );
    return true;
  });
  assert.deepEqual(
    (await ledger()).map((r) => r.version),
    [1, 2],
  );
  assert.equal((await crm())[0]!.secret, CRM_SECRET);

  // Given the variable, the same file applies.
  const next = 'whsec_' + Buffer.alloc(32, 22).toString('base64');
  await withService(async () => {}, { CRM_NEXT_SECRET: next });
  assert.deepEqual(
    (await ledger()).map((r) => r.version),
    [1, 2, 3],
  );
  assert.equal((await crm())[0]!.secret, next);
});
