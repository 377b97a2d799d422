/**
 * What the database refuses and erases on its own (migration 0004): plain http under
 * REQUIRE_HTTPS, credentials in URLs, literal internal IP addresses outside
 * DELIVERY_ALLOW_NETWORKS, every refusal naming its column; previous secrets erased when their
 * overlap ends; and the roles' column privileges. Nothing here sends a packet: the addresses are
 * only written to a table.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import pino from 'pino';
import { writeSettings } from '../../src/endpoints/endpoint-store.ts';
import { startPreviousSecretExpiry } from '../../src/endpoints/secret-expiry.ts';
import { createTestDatabase, dbError, type TestDatabase } from '../support/database.ts';

let tdb: TestDatabase;
let n = 0;

before(async () => {
  tdb = await createTestDatabase('endpoint_security');
});

after(async () => {
  await tdb?.drop();
});

const SECRET = 'whsec_c2VjdXJpdHktdGVzdC1zZWNyZXQtMTIzNDU2Nzg=';

function insert(url: string, extra: { secret?: string; types?: string[]; name?: string } = {}): Promise<unknown> {
  return tdb.pool.query('insert into webhooks.endpoints (name, url, secret, event_types) values ($1, $2, $3, $4)', [
    extra.name ?? `ep-${++n}`,
    url,
    extra.secret ?? SECRET,
    extra.types ?? ['call.ended'],
  ]);
}

describe('with the production defaults (REQUIRE_HTTPS on, no allow-list)', () => {
  before(async () => {
    await writeSettings(tdb.db, { requireHttps: true, allowNetworks: [] });
  });

  test('an http:// endpoint is refused at insert with a message that says https, on the url column', async () => {
    const err = await dbError(insert('http://crm.example.com/hooks/T0KEN-IN-PATH?k=QUERY-TOKEN'));
    assert.equal(err.code, '23514');
    assert.equal(err.column, 'url');
    assert.match(err.message, /uses plain http, but this installation requires https/);
    assert.match(err.message, /"http:\/\/crm\.example\.com"/, 'the origin is named');
    assert.doesNotMatch(err.message, /T0KEN|QUERY-TOKEN/, 'the path and query are not repeated');
    await insert('https://crm.example.com/hooks/ok');
  });

  test('URLs with credentials are refused and the credentials are not repeated', async () => {
    for (const url of [
      'https://user:hunter2@crm.example.com/x',
      'https://token@crm.example.com/x',
      'https://crm.example.com@127.0.0.1/x',
    ]) {
      const err = await dbError(insert(url));
      assert.equal(err.column, 'url', url);
      assert.match(err.message, /must not carry credentials/, url);
      assert.doesNotMatch(`${err.message} ${err.hint ?? ''}`, /hunter2|token@/, url);
    }
  });

  test('every spelling of a literal internal address is refused, naming the address, the range and DELIVERY_ALLOW_NETWORKS', async () => {
    const cases: Array<[string, string, string]> = [
      ['https://127.0.0.1/', '127.0.0.1', 'loopback'],
      ['https://127.1/', '127.0.0.1', 'loopback'],
      ['https://2130706433/', '127.0.0.1', 'loopback'],
      ['https://0x7f000001:8443/', '127.0.0.1', 'loopback'],
      ['https://0177.0.0.1/', '127.0.0.1', 'loopback'],
      ['https://0.0.0.0/', '0.0.0.0', 'unspecified'],
      ['https://0/', '0.0.0.0', 'unspecified'],
      ['https://[::1]/', '::1', 'loopback'],
      ['https://[::ffff:7f00:1]/', '::ffff:127.0.0.1', 'loopback'],
      ['https://169.254.169.254/latest/meta-data/', '169.254.169.254', 'link-local'],
      ['https://10.1.2.3/', '10.1.2.3', 'private'],
      ['https://172.20.0.5/', '172.20.0.5', 'private'],
      ['https://192.168.0.10./', '192.168.0.10', 'private'],
      ['https://100.64.1.1/', '100.64.1.1', 'cgnat'],
      ['https://198.18.0.1/', '198.18.0.1', 'benchmarking'],
      ['https://224.0.0.251/', '224.0.0.251', 'multicast'],
      ['https://255.255.255.255/', '255.255.255.255', 'reserved'],
      ['https://192.0.2.10/', '192.0.2.10', 'documentation'],
      ['https://[fd00::1]/', 'fd00::1', 'private'],
      ['https://[fe80::1]/', 'fe80::1', 'link-local'],
      ['https://[64:ff9b::a9fe:a9fe]/', '64:ff9b::a9fe:a9fe', 'embedding 169.254.169.254, link-local'],
      ['https://[2002:7f00:1::]/', '2002:7f00:1::', 'embedding 127.0.0.1, loopback'],
      ['https://[2001:0:4136:e378:8000:63bf:80ff:fffe]/', '2001:0:4136:e378:8000:63bf:80ff:fffe', 'embedding 127.0.0.1, loopback'],
    ];
    for (const [url, address, range] of cases) {
      const err = await dbError(insert(url));
      assert.equal(err.column, 'url', url);
      assert.ok(err.message.includes(`points to ${address} (${range})`), `${url}: ${err.message}`);
      assert.match(err.message, /DELIVERY_ALLOW_NETWORKS/, url);
    }
  });

  test('public addresses and host names are accepted (names are checked at send time)', async () => {
    for (const url of [
      'https://8.8.8.8/hook',
      'https://[2606:4700::1111]/hook',
      'https://crm.example.com\\@127.0.0.1/',
      'https://localhost.example/',
    ]) {
      await insert(url);
    }
  });

  test('a host that is neither a name nor an IP address is refused', async () => {
    const err = await dbError(insert('https://999.1.1.1/'));
    assert.equal(err.column, 'url');
    assert.match(err.message, /neither a name nor an IP address/);
  });

  test('every refusal names its column for the form beside the field', async () => {
    const cases: Array<[() => Promise<unknown>, string]> = [
      [() => insert('https://crm.example.com/', { name: '  ' }), 'name'],
      [() => insert('https://crm.example.com/', { types: ['call.endded'] }), 'event_types'],
      [() => insert('https://crm.example.com/', { types: [] }), 'event_types'],
      [() => insert('https://crm.example.com/', { secret: 'short' }), 'secret'],
      [() => insert('https://crm.example.com/', { secret: 'whsec_not base64 at all!!' }), 'secret'],
      [() => insert('ftp://crm.example.com/'), 'url'],
    ];
    for (const [write, column] of cases) assert.equal((await dbError(write())).column, column);
  });
});

describe('with DELIVERY_ALLOW_NETWORKS=127.0.0.2/32 written by the dispatcher', () => {
  before(async () => {
    await writeSettings(tdb.db, { requireHttps: true, allowNetworks: ['127.0.0.2/32'] });
  });

  test('127.0.0.2 is accepted and 127.0.0.1 still refused', async () => {
    await insert('https://127.0.0.2:8443/hook');
    await insert('https://[::ffff:127.0.0.2]/hook');
    assert.match((await dbError(insert('https://127.0.0.1/hook'))).message, /points to 127\.0\.0\.1 \(loopback\)/);
  });
});

describe('previous secrets', () => {
  before(async () => {
    await writeSettings(tdb.db, { requireHttps: true, allowNetworks: [] });
  });

  async function secrets(name: string): Promise<{ previous_secret: string | null; previous_secret_expires_at: Date | null }> {
    const { rows } = await tdb.pool.query('select previous_secret, previous_secret_expires_at from webhooks.endpoints where name = $1', [
      name,
    ]);
    return rows[0];
  }

  test('rotating with no overlap erases the old secret at once; with one, it stays until the overlap ends', async () => {
    await insert('https://rotate.example.com/', { name: 'rotate-now' });
    await tdb.pool.query(`select webhooks.rotate_secret((select id from webhooks.endpoints where name = 'rotate-now'), interval '0')`);
    assert.deepEqual(await secrets('rotate-now'), { previous_secret: null, previous_secret_expires_at: null });

    await insert('https://rotate.example.com/', { name: 'rotate-later' });
    await tdb.pool.query(
      `select webhooks.rotate_secret((select id from webhooks.endpoints where name = 'rotate-later'), interval '1 hour')`,
    );
    assert.equal((await secrets('rotate-later')).previous_secret, SECRET);
  });

  test('the sweep (expire_previous_secrets()) erases those whose overlap ended without any write to their row', async () => {
    await insert('https://rotate.example.com/', { name: 'lapsing' });
    await insert('https://rotate.example.com/', { name: 'lasting' });
    // In one transaction now() stays at its start, so an expiry of clock_timestamp() is still in
    // the future for the trigger; once committed, it has passed for the next statement.
    const client = await tdb.pool.connect();
    try {
      await client.query('begin');
      await client.query(
        `update webhooks.endpoints set previous_secret = secret, previous_secret_expires_at = clock_timestamp() where name = 'lapsing'`,
      );
      await client.query(
        `update webhooks.endpoints set previous_secret = secret, previous_secret_expires_at = now() + interval '1 hour' where name = 'lasting'`,
      );
      await client.query('commit');
    } finally {
      client.release();
    }
    assert.equal((await secrets('lapsing')).previous_secret, SECRET, 'still there before the sweep');
    // The dispatcher's sweep (it runs once at start, then every few minutes).
    const sweep = await startPreviousSecretExpiry({ pool: tdb.pool, intervalMs: 3_600_000, logger: pino({ level: 'silent' }) });
    sweep.stop();
    assert.deepEqual(await secrets('lapsing'), { previous_secret: null, previous_secret_expires_at: null });
    assert.equal((await secrets('lasting')).previous_secret, SECRET);
  });
});

describe('roles', () => {
  const ROLES = ['webhooks_admin', 'webhooks_reader', 'webhooks_service'];

  test('webhooks_reader reads the views and the delivery log but cannot select a secret', async (t) => {
    // The roles are cluster-wide: this database's template may have been migrated before they
    // existed. grant_roles() grants what exists (owning the objects is enough) and may be rerun.
    await tdb.pool.query('select webhooks.grant_roles()');
    const { rows: existing } = await tdb.pool.query<{ rolname: string }>('select rolname from pg_roles where rolname = any($1)', [ROLES]);
    if (existing.length < ROLES.length) {
      // The migration creates them only where its user may (CREATEROLE); scripts/services-up.sh
      // gives the test user that right, a server set up otherwise may not have it.
      t.skip(`roles missing (${ROLES.filter((r) => !existing.some((e) => e.rolname === r)).join(', ')}): the test user lacks CREATEROLE`);
      return;
    }
    const can = async (sql: string, args: unknown[]): Promise<boolean> => (await tdb.pool.query<{ ok: boolean }>(sql, args)).rows[0]!.ok;
    const column = (role: string, col: string): Promise<boolean> =>
      can(`select has_column_privilege($1, 'webhooks.endpoints', $2, 'SELECT') as ok`, [role, col]);
    const table = (role: string, name: string, priv: string): Promise<boolean> =>
      can(`select has_table_privilege($1, $2, $3) as ok`, [role, name, priv]);

    for (const col of ['secret', 'previous_secret', 'headers']) assert.equal(await column('webhooks_reader', col), false, `reader: ${col}`);
    for (const col of ['id', 'name', 'url', 'event_types', 'enabled'])
      assert.equal(await column('webhooks_reader', col), true, `reader: ${col}`);
    for (const view of ['webhooks.delivery_log', 'webhooks.endpoint_health', 'webhooks.attempts', 'webhooks.deliveries']) {
      assert.equal(await table('webhooks_reader', view, 'SELECT'), true, `reader reads ${view}`);
    }
    assert.equal(await table('webhooks_reader', 'webhooks.endpoints', 'UPDATE'), false);
    assert.equal(await table('webhooks_admin', 'webhooks.endpoints', 'INSERT'), true);
    assert.equal(await column('webhooks_admin', 'secret'), true);
    assert.equal(await column('webhooks_service', 'secret'), true, 'the dispatcher signs with it');
    assert.equal(await table('webhooks_service', 'webhooks.endpoints', 'INSERT'), false);
    assert.equal(await table('webhooks_service', 'webhooks.attempts', 'INSERT'), true);
    // Every table a migration added, whatever order the migrations ran in (0010–0012 each once
    // replaced grant_roles() with a version that forgot the others').
    for (const name of ['webhooks.replay_requests', 'webhooks.failing_streaks', 'webhooks.alerts', 'webhooks.ordered_deliveries']) {
      assert.equal(await table('webhooks_reader', name, 'SELECT'), true, `reader reads ${name}`);
      assert.equal(await table('webhooks_admin', name, 'SELECT'), true, `admin reads ${name}`);
      assert.equal(await table('webhooks_service', name, 'SELECT'), true, `service reads ${name}`);
    }
    assert.equal(await table('webhooks_service', 'webhooks.replay_requests', 'UPDATE'), true, 'the service writes replay progress');
    assert.equal(await table('webhooks_service', 'webhooks.failing_streaks', 'INSERT'), true);
    assert.equal(await table('webhooks_service', 'webhooks.alerts', 'INSERT'), true);
    assert.equal(await table('webhooks_service', 'webhooks.ordered_deliveries', 'DELETE'), true);
    assert.equal(await table('webhooks_reader', 'webhooks.replay_requests', 'INSERT'), false);
    assert.equal(
      await can(
        `select has_function_privilege('webhooks_admin', 'webhooks.replay(uuid, timestamptz, timestamptz, text[])', 'EXECUTE') as ok`,
        [],
      ),
      true,
      'admins may request a replay',
    );
    // The reader gets every endpoint column but the secrets, including those added after 0004.
    const { rows: cols } = await tdb.pool.query<{ attname: string }>(
      `select attname from pg_attribute where attrelid = 'webhooks.endpoints'::regclass and attnum > 0 and not attisdropped`,
    );
    for (const { attname } of cols) {
      const secret = ['secret', 'previous_secret', 'headers'].includes(attname);
      assert.equal(await column('webhooks_reader', attname), !secret, `reader: ${attname}`);
    }

    // And for real, as the reader, where this user may take the role on.
    const client = new pg.Client({ connectionString: tdb.url });
    await client.connect();
    try {
      await client.query('grant webhooks_reader to current_user').catch(() => {});
      const member = (await client.query<{ ok: boolean }>(`select pg_has_role(current_user, 'webhooks_reader', 'MEMBER') as ok`)).rows[0]!
        .ok;
      if (!member) return;
      await client.query('set role webhooks_reader');
      await client.query('select name, url from webhooks.endpoints');
      await client.query('select * from webhooks.delivery_log limit 1');
      const err = await dbError(client.query('select secret from webhooks.endpoints'));
      assert.equal(err.code, '42501', 'permission denied');
      const headers = await dbError(client.query('select headers from webhooks.endpoints'));
      assert.equal(headers.code, '42501', 'header values are secrets too');
      await client.query('reset role');
    } finally {
      await client.end();
    }
  });
});
