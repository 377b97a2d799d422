import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { SAMPLE_DATA } from '../support/spec-catalog.ts';
import { deliveryId } from '../../src/delivery/delivery-id.ts';
import { validateEnvelope } from '../../src/events/envelope.ts';
import { createEmptyDatabase, createTestDatabase, TEST_ALLOW_NETWORKS, type TestDatabase } from '../support/database.ts';
import { openTestKafka } from '../support/kafka.ts';
import { freePort } from '../support/ports.ts';
import { runProcess, type ProcessRun } from '../support/run-process.ts';
import { waitFor } from '../support/wait-for.ts';
import { TestReceiver } from '../support/receiver.ts';
import { startTestService, testEnv } from '../support/service.ts';

const SECRET = 'whsec_' + Buffer.alloc(32, 9).toString('base64');
const MASKED = /^whsec_[A-Za-z0-9+/]{4}…$/;
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Runs the CLI as a real process: `node src/cli/main.ts …`. */
function cli(args: string[], env: Record<string, string>): Promise<ProcessRun> {
  return runProcess(process.execPath, ['src/cli/main.ts', ...args], { env });
}

function json<T = Record<string, unknown>>(run: ProcessRun): T {
  assert.equal(run.code, 0, `exit 0 expected, got ${run.code}: ${run.stderr}`);
  return JSON.parse(run.stdout) as T;
}

let db: TestDatabase;
let receiver: TestReceiver;
let env: Record<string, string>;

before(async () => {
  db = await createTestDatabase('cli');
  receiver = await TestReceiver.start();
  // `endpoints test` sends to plain-http receivers on loopback: allowed here on purpose.
  env = { DATABASE_URL: db.url, DELIVERY_TIMEOUT_MS: '5000', REQUIRE_HTTPS: 'false', DELIVERY_ALLOW_NETWORKS: TEST_ALLOW_NETWORKS };
});

after(async () => {
  await receiver?.close();
  await db?.drop();
});

describe('usage', () => {
  const COMMANDS = [
    [],
    ['run'],
    ['migrate'],
    ['endpoints'],
    ['endpoints', 'list'],
    ['endpoints', 'show'],
    ['endpoints', 'add'],
    ['endpoints', 'update'],
    ['endpoints', 'enable'],
    ['endpoints', 'disable'],
    ['endpoints', 'rotate-secret'],
    ['endpoints', 'test'],
    ['deliveries'],
    ['deliveries', 'list'],
    ['deliveries', 'show'],
    ['redeliver'],
    ['recover'],
    ['replay'],
    ['replays'],
    ['replays', 'list'],
    ['replays', 'show'],
    ['replays', 'cancel'],
  ];

  test('--help works for every command and subcommand without a database, and documents the exit codes', async () => {
    const unreachable = { DATABASE_URL: `postgres://x:y@127.0.0.1:${await freePort()}/none` };
    const runs = await Promise.all(COMMANDS.map((c) => cli([...c, '--help'], unreachable)));
    runs.forEach((run, i) => {
      const words = COMMANDS[i]!;
      assert.equal(run.code, 0, `${words.join(' ')} --help: ${run.stderr}`);
      assert.equal(run.stderr, '');
      assert.match(run.stdout, new RegExp(`^Usage: dialer-webhooks ${words.join(' ')}`.trimEnd()), words.join(' '));
      assert.match(
        run.stdout,
        /Exit codes:\n {2}0 {2}ok\n {2}1 .*\n {2}2 {2}usage or configuration error\n {2}3 {2}cannot reach the database/,
      );
    });
    assert.match(
      (await cli(['help', 'endpoints', 'add'], unreachable)).stdout,
      /^Usage: dialer-webhooks endpoints add --name NAME --url URL --events TYPES \[options\]/,
    );
    assert.match(runs[5]!.stdout, /--show-secrets/);
  });

  test('an unknown command, subcommand or option, or a missing argument, is exit 2 with the usage on stderr', async () => {
    const [unknown, sub, none, option, missing, extra, noChange] = await Promise.all([
      cli(['frobnicate'], env),
      cli(['endpoints', 'frob'], env),
      cli([], env),
      cli(['endpoints', 'list', '--bogus'], env),
      cli(['endpoints', 'add', '--name', 'x'], env),
      cli(['deliveries', 'show', 'a', 'b'], env),
      cli(['endpoints', 'update', 'x'], env),
    ]);
    assert.equal(unknown.code, 2);
    assert.equal(unknown.stdout, '');
    assert.match(unknown.stderr, /^dialer-webhooks: unknown command "frobnicate"\n\nUsage: dialer-webhooks <command>/);
    assert.equal(sub.code, 2);
    assert.match(sub.stderr, /unknown subcommand "endpoints frob"[\s\S]*Usage: dialer-webhooks endpoints <subcommand>/);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /Usage: dialer-webhooks <command>/);
    assert.equal(option.code, 2);
    assert.match(option.stderr, /Unknown option '--bogus'[\s\S]*Usage: dialer-webhooks endpoints list/);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--url is required\nUsage: dialer-webhooks endpoints add --name NAME --url URL --events TYPES/);
    assert.equal(extra.code, 2);
    assert.match(extra.stderr, /unexpected argument "b"/);
    assert.equal(noChange.code, 2);
    assert.match(noChange.stderr, /nothing to change/);
  });

  test('an unreachable database is exit 3 with one line naming it (password hidden); bad configuration is exit 2', async () => {
    const port = await freePort();
    const run = await cli(['endpoints', 'list'], { DATABASE_URL: `postgres://webhooks:topsecret@127.0.0.1:${port}/webhooks` });
    assert.equal(run.code, 3);
    assert.equal(run.stdout, '');
    assert.match(
      run.stderr,
      new RegExp(
        `^dialer-webhooks: cannot reach the database at postgres://webhooks:\\*\\*\\*@127\\.0\\.0\\.1:${port}/webhooks: .*ECONNREFUSED.*\\n$`,
      ),
    );
    assert.doesNotMatch(run.stderr, /topsecret/);

    const config = await cli(['endpoints', 'list'], { DATABASE_URL: 'mysql://localhost/x' });
    assert.equal(config.code, 2);
    assert.match(config.stderr, /^dialer-webhooks: configuration error: DATABASE_URL: expected a postgres: or postgresql: URL/);
  });
});

describe('endpoints', () => {
  test('add prints a generated secret once in full; list masks it unless --show-secrets', async () => {
    const add = await cli(
      ['endpoints', 'add', '--name', 'crm-sync', '--url', 'https://crm.example.com/hooks', '--events', 'lead.updated, call.ended'],
      env,
    );
    assert.equal(add.code, 0, add.stderr);
    const stored = await db.db.selectFrom('webhooks.endpoints').selectAll().where('name', '=', 'crm-sync').executeTakeFirstOrThrow();
    assert.match(stored.secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
    assert.ok(add.stdout.includes(`\n  secret:   ${stored.secret}\n`), 'the generated secret is printed in full');
    assert.match(add.stdout, /only time the secret is shown/);
    assert.match(add.stdout, /events: +call\.ended, lead\.updated/, 'event types as stored: sorted');

    const list = await cli(['endpoints', 'list'], env);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^NAME +STATUS +EVENTS +URL +LIMITS +SECRET +HEADERS +UPDATED/);
    assert.match(
      list.stdout,
      new RegExp(
        `crm-sync +enabled +call\\.ended,lead\\.updated +https://crm\\.example\\.com/hooks +${stored.secret.slice(0, 10).replace(/[+/]/g, '\\$&')}… `,
      ),
    );
    assert.ok(!list.stdout.includes(stored.secret), 'list does not print the secret');

    const listed = json<Array<Record<string, unknown>>>(await cli(['endpoints', 'list', '--json'], env));
    assert.equal(listed.length, 1);
    assert.deepEqual(Object.keys(listed[0]!), [
      'id',
      'name',
      'url',
      'event_types',
      'filter',
      'headers',
      'max_per_second',
      'max_in_flight',
      'ordering',
      'enabled',
      'disabled_reason',
      'description',
      'secret',
      'previous_secret',
      'previous_secret_expires_at',
      'created_at',
      'updated_at',
    ]);
    assert.equal(listed[0]!.id, stored.id);
    assert.deepEqual(listed[0]!.event_types, ['call.ended', 'lead.updated']);
    assert.match(String(listed[0]!.secret), MASKED);
    assert.equal(listed[0]!.previous_secret, null);
    assert.equal(listed[0]!.created_at, new Date(stored.created_at as unknown as Date).toISOString());

    const shown = json<Array<Record<string, unknown>>>(await cli(['endpoints', 'list', '--json', '--show-secrets'], env));
    assert.equal(shown[0]!.secret, stored.secret);
  });

  test('add with --secret and --disabled, --json; the given secret is not echoed', async () => {
    const added = json(
      await cli(
        [
          'endpoints',
          'add',
          '--json',
          '--name',
          'audit',
          '--url',
          'http://audit.example.com/in',
          '--events',
          '*',
          '--secret',
          SECRET,
          '--disabled',
          '--description',
          'audit log',
        ],
        env,
      ),
    );
    assert.equal(added.enabled, false);
    assert.deepEqual(added.event_types, ['*']);
    assert.equal(added.description, 'audit log');
    assert.match(String(added.secret), MASKED);
    assert.match(String(added.id), UUID);
    const row = await db.db
      .selectFrom('webhooks.endpoints')
      .select(['secret', 'enabled'])
      .where('name', '=', 'audit')
      .executeTakeFirstOrThrow();
    assert.deepEqual(row, { secret: SECRET, enabled: false });
  });

  test("the database's validation errors are printed with their message and hint, exit 1", async () => {
    const [badType, badUrl, duplicate, badUpdate] = await Promise.all([
      cli(['endpoints', 'add', '--name', 'typo', '--url', 'https://x.example.com', '--events', 'call.ended,call.endded'], env),
      cli(['endpoints', 'add', '--name', 'ftp', '--url', 'ftp://x.example.com/in', '--events', 'call.ended'], env),
      cli(['endpoints', 'add', '--name', 'crm-sync', '--url', 'https://x.example.com', '--events', 'call.ended'], env),
      cli(['endpoints', 'update', 'crm-sync', '--events', ','], env),
    ]);
    assert.equal(badType.code, 1);
    assert.match(
      badType.stderr,
      /^dialer-webhooks: webhooks\.endpoints: unknown event type\(s\) call\.endded for endpoint "typo"\nhint: Valid event types: agent\.login, .*call\.ended.*, or \* for all\.\n$/,
    );
    assert.equal(badUrl.code, 1);
    assert.match(badUrl.stderr, /url "ftp:\/\/x\.example\.com" is not an http\(s\) URL[\s\S]*\nhint: Use a full URL/);
    assert.equal(duplicate.code, 1);
    assert.match(
      duplicate.stderr,
      /endpoints_name_unique[\s\S]*detail: Key \(name\)=\(crm-sync\) already exists\.\nhint: endpoint names are unique/,
    );
    assert.equal(badUpdate.code, 1);
    assert.match(badUpdate.stderr, /event_types must be a non-empty list[\s\S]*hint: Subscribe to at least one event type/);
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from webhooks.endpoints where name in ('typo', 'ftp')`.execute(
      db.db,
    );
    assert.equal(rows[0]!.n, 0);
  });

  test('update changes what was given, by name or id; an unknown endpoint is exit 1', async () => {
    const id = (await db.db.selectFrom('webhooks.endpoints').select('id').where('name', '=', 'crm-sync').executeTakeFirstOrThrow()).id;
    const updated = json(
      await cli(
        ['endpoints', 'update', id, '--json', '--events', 'call.started,call.ended,call.ended', '--url', 'https://crm.example.com/v2'],
        env,
      ),
    );
    assert.deepEqual(updated.event_types, ['call.ended', 'call.started']);
    assert.equal(updated.url, 'https://crm.example.com/v2');
    assert.equal(updated.name, 'crm-sync');
    const human = await cli(['endpoints', 'update', 'crm-sync', '--description', 'CRM sync'], env);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /^Updated endpoint crm-sync\n[\s\S]*description: +CRM sync\n[\s\S]*secret: +whsec_[A-Za-z0-9+/]{4}…\n/);

    const missing = await cli(['endpoints', 'update', 'nope', '--url', 'https://x.example.com'], env);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^dialer-webhooks: no endpoint named or with id "nope"\nhint: /);
  });

  test('update sets and removes the rate limits, shown in list and show; a bad value is refused naming it', async () => {
    const set = json(await cli(['endpoints', 'update', 'crm-sync', '--json', '--max-per-second', '2.5', '--max-in-flight', '1'], env));
    assert.equal(set.max_per_second, 2.5);
    assert.equal(set.max_in_flight, 1);
    const human = await cli(['endpoints', 'update', 'crm-sync', '--max-in-flight', '3'], env);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /\n {2}limits: +2\.5\/s, 3 at once\n/);
    const list = await cli(['endpoints', 'list'], env);
    assert.match(list.stdout, /\ncrm-sync +.* 2\.5\/s, 3 at once +whsec_/);

    const [zero, tooMany, notNumber] = await Promise.all([
      cli(['endpoints', 'update', 'crm-sync', '--max-per-second', '0'], env),
      cli(['endpoints', 'update', 'crm-sync', '--max-in-flight', '0'], env),
      cli(['endpoints', 'update', 'crm-sync', '--max-per-second', 'fast'], env),
    ]);
    assert.equal(zero.code, 1);
    assert.match(zero.stderr, /max_per_second of endpoint "crm-sync" must be a number above 0[\s\S]*\nhint: Give requests per second/);
    assert.equal(tooMany.code, 1);
    assert.match(tooMany.stderr, /max_in_flight of endpoint "crm-sync" must be a whole number from 1 to 10000/);
    assert.equal(notNumber.code, 2);
    assert.match(notNumber.stderr, /--max-per-second must be a number such as 5 or 0\.5, or none/);

    const cleared = json(
      await cli(['endpoints', 'update', 'crm-sync', '--json', '--max-per-second', 'none', '--max-in-flight', 'none'], env),
    );
    assert.equal(cleared.max_per_second, null);
    assert.equal(cleared.max_in_flight, null);
  });

  test('--ordering per_key is stored and shown, none turns it off, and anything else is a usage error', async () => {
    const on = await cli(['endpoints', 'update', 'crm-sync', '--ordering', 'per_key'], env);
    assert.equal(on.code, 0, on.stderr);
    assert.match(on.stdout, /\n {2}ordering: +per_key \(same Kafka key, offset order\)\n/);
    const row = await db.db.selectFrom('webhooks.endpoints').select('ordering').where('name', '=', 'crm-sync').executeTakeFirstOrThrow();
    assert.equal(row.ordering, 'per_key');
    const listed = json<Array<Record<string, unknown>>>(await cli(['endpoints', 'list', '--json'], env));
    assert.equal(listed.find((e) => e.name === 'crm-sync')!.ordering, 'per_key');
    assert.match((await cli(['endpoints', 'list'], env)).stdout, /crm-sync .* ordered per key\n/);

    const bad = await cli(['endpoints', 'update', 'crm-sync', '--ordering', 'fifo'], env);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--ordering "fifo" is not per_key or none/);
    const off = json(await cli(['endpoints', 'update', 'crm-sync', '--ordering', 'none', '--json'], env));
    assert.equal(off.ordering, 'none');
  });

  test('disable and enable are idempotent, record the reason and say whether anything changed', async () => {
    const disabled = json(await cli(['endpoints', 'disable', 'crm-sync', '--reason', 'CRM migration', '--json'], env));
    assert.equal(disabled.changed, true);
    assert.equal((disabled.endpoint as Record<string, unknown>).enabled, false);
    assert.equal((disabled.endpoint as Record<string, unknown>).disabled_reason, 'CRM migration');
    const again = await cli(['endpoints', 'disable', 'crm-sync'], env);
    assert.equal(again.code, 0);
    assert.equal(again.stdout, 'Endpoint crm-sync was already disabled\n');
    const list = await cli(['endpoints', 'list'], env);
    assert.match(list.stdout, /crm-sync +disabled .* CRM migration\n/);

    const enabled = await cli(['endpoints', 'enable', 'crm-sync'], env);
    assert.equal(enabled.code, 0);
    assert.equal(enabled.stdout, 'Enabled endpoint crm-sync\n');
    const row = await db.db
      .selectFrom('webhooks.endpoints')
      .select(['enabled', 'disabled_reason'])
      .where('name', '=', 'crm-sync')
      .executeTakeFirstOrThrow();
    assert.deepEqual(row, { enabled: true, disabled_reason: null });
  });

  test('rotate-secret prints the new secret once and keeps the old one for the overlap', async () => {
    const before = await db.db.selectFrom('webhooks.endpoints').select('secret').where('name', '=', 'crm-sync').executeTakeFirstOrThrow();
    const t0 = Date.now();
    const rotated = json(await cli(['endpoints', 'rotate-secret', 'crm-sync', '--overlap', '48h', '--json'], env));
    const row = await db.db.selectFrom('webhooks.endpoints').selectAll().where('name', '=', 'crm-sync').executeTakeFirstOrThrow();
    assert.equal(rotated.secret, row.secret);
    assert.notEqual(row.secret, before.secret);
    assert.equal(row.previous_secret, before.secret);
    assert.match(String(rotated.previous_secret), MASKED);
    const expires = new Date(row.previous_secret_expires_at!).getTime();
    assert.ok(Math.abs(expires - (t0 + 48 * 3_600_000)) < 60_000, 'old secret valid for 48 h');

    const human = await cli(['endpoints', 'rotate-secret', 'crm-sync', '--overlap', '0s'], env);
    assert.equal(human.code, 0, human.stderr);
    const after = await db.db.selectFrom('webhooks.endpoints').select('secret').where('name', '=', 'crm-sync').executeTakeFirstOrThrow();
    assert.match(human.stdout, new RegExp(`new secret: +${after.secret.replace(/[+/]/g, '\\$&')}\n +old secret: +no longer valid\n`));

    const bad = await cli(['endpoints', 'rotate-secret', 'crm-sync', '--overlap', 'tomorrow'], env);
    assert.equal(bad.code, 2);
  });
});

describe('endpoints test', () => {
  test('sends a signed sample event; 200 is exit 0 and the receiver verifies both signatures', async () => {
    const url = receiver.route('/test-ok', SECRET, (n) => ({ status: 200, body: `received ${n}` }));
    await cli(['endpoints', 'add', '--name', 'receiver-ok', '--url', url, '--events', 'call.ended,lead.updated', '--secret', SECRET], env);
    const run = await cli(['endpoints', 'test', 'receiver-ok', '--event', 'call.ended'], env);
    assert.equal(run.code, 0, run.stderr);
    const [req] = receiver.to('/test-ok');
    assert.ok(req);
    assert.equal(req.specSignatureValid, true, 'X-Webhook-Signature verifies');
    assert.equal(req.standardSignatureValid, true, 'webhook-signature verifies');
    assert.equal(req.headers['x-webhook-event'], 'call.ended');
    assert.equal(req.headers['x-webhook-attempt'], '1');
    assert.equal(req.headers['content-type'], 'application/json');
    assert.match(String(req.headers['user-agent']), /^dialer-webhooks\/\d+\.\d+\.\d+$/);
    assert.match(
      String(req.headers['webhook-id']),
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      'a fresh random uuid',
    );
    const envelope = validateEnvelope(JSON.parse(req.body.toString('utf8')));
    assert.deepEqual(envelope.data, SAMPLE_DATA['call.ended']);
    assert.match(run.stdout, /^OK: call\.ended to receiver-ok/);
    assert.match(run.stdout, /status: +200\n/);
    assert.match(run.stdout, /duration: +\d+(\.\d)? m?s\n/);
    assert.match(run.stdout, new RegExp(`webhook-id: +${String(req.headers['webhook-id'])}\n`));
    assert.match(run.stdout, /response: +received 1\n/);

    // Without --event: the endpoint's first subscribed type; --json result shape.
    const second = json(await cli(['endpoints', 'test', 'receiver-ok', '--json'], env));
    assert.deepEqual(Object.keys(second), [
      'endpoint',
      'url',
      'event_type',
      'webhook_id',
      'outcome',
      'status_code',
      'error_kind',
      'error',
      'duration_ms',
      'response_body',
    ]);
    assert.equal(second.event_type, 'call.ended');
    assert.equal(second.status_code, 200);
    assert.equal(second.response_body, 'received 2');
    assert.notEqual(second.webhook_id, req.headers['webhook-id'], 'every test request gets a new webhook-id');
  });

  test('a 500 is exit 1 with the status and response', async () => {
    const url = receiver.route('/test-500', SECRET, () => ({ status: 500, body: 'database down' }));
    await cli(['endpoints', 'add', '--name', 'receiver-500', '--url', url, '--events', 'agent.login', '--secret', SECRET], env);
    const run = await cli(['endpoints', 'test', 'receiver-500', '--event', 'agent.login'], env);
    assert.equal(run.code, 1);
    assert.match(
      run.stdout,
      /^FAILED: agent\.login to receiver-500[\s\S]*status: +500\n +error: +HTTP 500\n[\s\S]*response: +database down\n/,
    );
    assert.equal(receiver.to('/test-500').length, 1);
    assert.equal(receiver.to('/test-500')[0]!.specSignatureValid, true);
    const parsed = JSON.parse((await cli(['endpoints', 'test', 'receiver-500', '--json'], env)).stdout) as Record<string, unknown>;
    assert.equal(parsed.outcome, 'failed');
    assert.equal(parsed.error_kind, 'http_status');

    const badType = await cli(['endpoints', 'test', 'receiver-500', '--event', 'call.finished'], env);
    assert.equal(badType.code, 2);
    assert.match(badType.stderr, /unknown event type "call\.finished"; valid types: agent\.login, agent\.logout, .*call\.ended/);
  });

  test('database text with terminal escapes (a hostile name, response body, rejection message) is printed without control characters', async () => {
    const hostile = 'evil\u001b]0;owned\u0007\u001b[2J\u009b31m\rcrm-sync';
    const url = receiver.route('/test-hostile', SECRET, () => ({
      status: 200,
      body: 'ok\u001b[8mhidden\u001b]8;;https://x.example/\u0007',
    }));
    await db.pool.query('insert into webhooks.endpoints (name, url, event_types, secret) values ($1, $2, $3, $4)', [
      hostile,
      url,
      ['agent.login'],
      SECRET,
    ]);
    // eslint-disable-next-line no-control-regex
    const control = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;
    const runs = [
      await cli(['endpoints', 'test', hostile], env),
      await cli(['endpoints', 'list'], env),
      await cli(['endpoints', 'list', '--json'], env),
      await cli(['endpoints', 'add', '--name', `${hostile}-2`, '--url', 'ftp://x.example/', '--events', '*'], env),
    ];
    assert.equal(runs[0]!.code, 0, runs[0]!.stderr);
    assert.match(runs[0]!.stdout, /^OK: agent\.login to evil.*crm-sync[\s\S]*response: +okhidden\n/);
    assert.match(runs[1]!.stdout, /evil.*crm-sync/);
    assert.ok(
      (JSON.parse(runs[2]!.stdout) as Array<{ name: string }>).some((e) => e.name === hostile),
      'JSON keeps the exact name',
    );
    assert.equal(runs[3]!.code, 1);
    assert.match(runs[3]!.stderr, /is not an http\(s\) URL \(endpoint "evil.*crm-sync-2"\)/);
    for (const run of runs) {
      assert.doesNotMatch(run.stdout, control);
      assert.doesNotMatch(run.stderr, control);
    }
    await db.pool.query('delete from webhooks.endpoints where name = $1', [hostile]);
  });

  test('during a rotation a receiver holding only the old secret still verifies the Standard Webhooks signature', async () => {
    const url = receiver.route('/test-rotating', SECRET);
    await cli(['endpoints', 'add', '--name', 'rotating', '--url', url, '--events', 'alert.triggered', '--secret', SECRET], env);
    assert.equal((await cli(['endpoints', 'rotate-secret', 'rotating'], env)).code, 0);
    const run = await cli(['endpoints', 'test', 'rotating'], env);
    assert.equal(run.code, 0, run.stderr);
    const [req] = receiver.to('/test-rotating');
    assert.equal(String(req!.headers['webhook-signature']).split(' ').length, 2, 'one v1 signature per valid secret');
    assert.equal(req!.standardSignatureValid, true);
    assert.equal(req!.specSignatureValid, false, 'X-Webhook-Signature uses the new secret only');
  });
});

describe('delivery log, redeliver and recover', () => {
  let svcDb: TestDatabase;
  const ids: Record<string, string> = {};

  before(async () => {
    svcDb = await createTestDatabase('cli_log');
    const endpoints = [
      { name: 'hooks-ok', url: receiver.route('/log-ok', SECRET), event_types: ['call.ended'] },
      {
        name: 'hooks-broken',
        url: receiver.route('/log-broken', SECRET, () => ({ status: 500, body: 'boom' })),
        event_types: ['call.ended'],
      },
      { name: 'hooks-gone', url: receiver.route('/log-gone', SECRET, 410), event_types: ['lead.updated'] },
    ];
    for (const e of endpoints) {
      const row = await svcDb.db
        .insertInto('webhooks.endpoints')
        .values({ ...e, secret: SECRET })
        .returning('id')
        .executeTakeFirstOrThrow();
      ids[e.name] = row.id;
    }
    const serviceEnv = testEnv(svcDb.url, 'cli', { RETRY_DELAYS: '10m' });
    await using kafka = await openTestKafka('cli');
    const service = await startTestService(serviceEnv);
    try {
      const at = new Date().toISOString();
      await kafka.produce(serviceEnv.INPUT_TOPICS!, [
        {
          value: JSON.stringify({ event: 'call.ended', timestamp: at, data: SAMPLE_DATA['call.ended'] }),
          headers: { 'event-id': 'evt-1', traceparent: `00-${TRACE_ID}-00f067aa0ba902b7-01` },
        },
        {
          value: JSON.stringify({ event: 'call.ended', timestamp: at, data: SAMPLE_DATA['call.ended'] }),
          headers: { 'event-id': 'evt-2' },
        },
        {
          value: JSON.stringify({ event: 'lead.updated', timestamp: at, data: SAMPLE_DATA['lead.updated'] }),
          headers: { 'event-id': 'evt-3' },
        },
      ]);
      await waitFor(
        async () => {
          const { rows } = await sql<{
            n: number;
          }>`select count(*)::int as n from webhooks.deliveries where status in ('succeeded', 'retrying', 'dead')`.execute(svcDb.db);
          const attempts = await sql<{ n: number }>`select count(*)::int as n from webhooks.attempts`.execute(svcDb.db);
          return rows[0]!.n === 5 && attempts.rows[0]!.n === 5;
        },
        { timeoutMs: 30_000, what: 'five deliveries settled by the service' },
      );
    } finally {
      await service.stop();
    }
  });

  after(async () => {
    await svcDb?.drop();
  });

  const svcEnv = (): Record<string, string> => ({ DATABASE_URL: svcDb.url });
  const id = (event: string, endpoint: string): string => deliveryId(event, ids[endpoint]!);

  test('deliveries list shows what a real service run recorded, with each filter', async () => {
    const all = json<Array<Record<string, unknown>>>(await cli(['deliveries', 'list', '--json'], svcEnv()));
    assert.equal(all.length, 5);
    assert.deepEqual(Object.keys(all[0]!), [
      'id',
      'endpoint_id',
      'endpoint_name',
      'event_id',
      'event_type',
      'event_timestamp',
      'status',
      'status_reason',
      'series',
      'attempts',
      'last_status_code',
      'last_error',
      'first_attempt_at',
      'last_attempt_at',
      'next_attempt_at',
      'created_at',
      'updated_at',
    ]);
    const status = Object.fromEntries(all.map((d) => [`${String(d.event_id)}/${String(d.endpoint_name)}`, d.status]));
    assert.deepEqual(status, {
      'evt-1/hooks-ok': 'succeeded',
      'evt-2/hooks-ok': 'succeeded',
      'evt-1/hooks-broken': 'retrying',
      'evt-2/hooks-broken': 'retrying',
      'evt-3/hooks-gone': 'dead',
    });

    const listIds = async (...args: string[]): Promise<string[]> =>
      json<Array<{ id: string }>>(await cli(['deliveries', 'list', '--json', ...args], svcEnv()))
        .map((d) => d.id)
        .sort();
    assert.deepEqual(await listIds('--status', 'retrying'), [id('evt-1', 'hooks-broken'), id('evt-2', 'hooks-broken')].sort());
    assert.deepEqual(await listIds('--endpoint', 'hooks-ok'), [id('evt-1', 'hooks-ok'), id('evt-2', 'hooks-ok')].sort());
    assert.deepEqual(await listIds('--endpoint', ids['hooks-gone']!), [id('evt-3', 'hooks-gone')]);
    assert.deepEqual(await listIds('--event-type', 'lead.updated'), [id('evt-3', 'hooks-gone')]);
    assert.equal((await listIds('--since', '1h')).length, 5);
    assert.equal((await listIds('--since', new Date(Date.now() + 60_000).toISOString())).length, 0);
    assert.equal((await listIds('--limit', '2')).length, 2);

    const table = await cli(['deliveries', 'list', '--endpoint', 'hooks-broken'], svcEnv());
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^CREATED +ID +ENDPOINT +EVENT +STATUS +ATTEMPTS +LAST RESULT\n/);
    assert.match(table.stdout, new RegExp(`${id('evt-1', 'hooks-broken')} +hooks-broken +call\\.ended +retrying +1 +HTTP 500\\n`));
    assert.equal(table.stdout.trim().split('\n').length, 3);

    const [badStatus, badSince, badType, noEndpoint] = await Promise.all([
      cli(['deliveries', 'list', '--status', 'failed'], svcEnv()),
      cli(['deliveries', 'list', '--since', 'yesterday'], svcEnv()),
      cli(['deliveries', 'list', '--event-type', 'call'], svcEnv()),
      cli(['deliveries', 'list', '--endpoint', 'nope'], svcEnv()),
    ]);
    assert.equal(badStatus.code, 2);
    assert.match(badStatus.stderr, /unknown status "failed"; valid statuses: pending, succeeded, retrying, dead, cancelled/);
    assert.equal(badSince.code, 2);
    assert.match(badSince.stderr, /--since "yesterday" is neither a relative time/);
    assert.equal(badType.code, 2);
    assert.equal(noEndpoint.code, 1);
  });

  test('deliveries show lists every attempt with status, error, duration and response excerpt', async () => {
    const broken = id('evt-1', 'hooks-broken');
    const shown = json<{ delivery: Record<string, unknown>; attempts: Array<Record<string, unknown>> }>(
      await cli(['deliveries', 'show', broken, '--json'], svcEnv()),
    );
    assert.equal(shown.delivery.id, broken);
    assert.equal(shown.delivery.status, 'retrying');
    assert.equal(shown.attempts.length, 1);
    const [a] = shown.attempts;
    assert.deepEqual(Object.keys(a!), [
      'series',
      'attempt',
      'attempted_at',
      'outcome',
      'status_code',
      'error_kind',
      'error',
      'duration_ms',
      'delay_ms',
      'due_at',
      'url',
      'response_excerpt',
      'traceparent',
    ]);
    assert.match(String(a!.traceparent), new RegExp(`^00-${TRACE_ID}-[0-9a-f]{16}-01$`), "the producer's trace continued");
    assert.equal(a!.status_code, 500);
    assert.equal(a!.outcome, 'failed');
    assert.equal(a!.response_excerpt, 'boom');
    assert.equal(a!.delay_ms, null);
    assert.equal(typeof a!.duration_ms, 'number');

    const human = await cli(['deliveries', 'show', broken], svcEnv());
    assert.equal(human.code, 0, human.stderr);
    assert.match(
      human.stdout,
      new RegExp(`^Delivery ${broken}\n +endpoint: +hooks-broken \\(${ids['hooks-broken']}\\)\n +event: +call\\.ended, id evt-1`),
    );
    assert.match(
      human.stdout,
      /SERIES +ATTEMPT +TIME +DELAY +DURATION +RESULT +RESPONSE +TRACEPARENT\n1 +1 +\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ +- +(?:\d+ ms|\d+(?:\.\d)? s) +HTTP 500 +boom +00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01\n/,
    );

    const gone = await cli(['deliveries', 'show', id('evt-3', 'hooks-gone')], svcEnv());
    assert.match(gone.stdout, /status: +dead \(410 Gone: endpoint disabled\)/);

    const [unknown, notUuid] = await Promise.all([
      cli(['deliveries', 'show', '00000000-0000-4000-8000-000000000000'], svcEnv()),
      cli(['deliveries', 'show', 'abc'], svcEnv()),
    ]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no delivery with id 00000000-0000-4000-8000-000000000000/);
    assert.equal(notUuid.code, 2);
  });

  test('redeliver calls webhooks.redeliver: the delivery becomes pending in a new series', async () => {
    const broken = id('evt-1', 'hooks-broken');
    const run = await cli(['redeliver', broken], svcEnv());
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`^Redelivery of ${broken} to hooks-broken requested: series 2, status pending\\.`));
    const row = await svcDb.db
      .selectFrom('webhooks.deliveries')
      .select(['status', 'series', 'attempts'])
      .where('id', '=', broken)
      .executeTakeFirstOrThrow();
    assert.deepEqual(row, { status: 'pending', series: 2, attempts: 0 });

    // Asking again while it waits is a no-op the database explains with a notice.
    const again = json(await cli(['redeliver', broken, '--json'], svcEnv()));
    assert.equal(again.series, 2);

    const succeeded = await cli(['redeliver', id('evt-1', 'hooks-ok')], svcEnv());
    assert.equal(succeeded.code, 1);
    assert.match(
      succeeded.stderr,
      /^dialer-webhooks: webhooks\.redeliver: delivery \S+ already succeeded[^\n]*\nhint: To send it again anyway/,
    );
  });

  test('recover calls webhooks.recover for the failed deliveries of one endpoint', async () => {
    const run = json(await cli(['recover', '--endpoint', 'hooks-broken', '--since', '1h', '--json'], svcEnv()));
    assert.deepEqual(run, { endpoint_id: ids['hooks-broken'], endpoint_name: 'hooks-broken', since: run.since, requested: 1 });
    const row = await svcDb.db
      .selectFrom('webhooks.deliveries')
      .select(['status', 'series'])
      .where('id', '=', id('evt-2', 'hooks-broken'))
      .executeTakeFirstOrThrow();
    assert.deepEqual(row, { status: 'pending', series: 2 });

    const none = await cli(['recover', '--endpoint', 'hooks-broken', '--since', '1h'], svcEnv());
    assert.equal(none.code, 0);
    assert.match(none.stdout, /^No failed deliveries of hooks-broken since/);

    // 410 Gone disabled hooks-gone: the database refuses and says how to fix it.
    const disabled = await cli(['recover', '--endpoint', 'hooks-gone', '--since', '2d'], svcEnv());
    assert.equal(disabled.code, 1);
    assert.match(disabled.stderr, /endpoint "hooks-gone" is disabled \(410 Gone from [^)]*\)[^\n]*\nhint: Enable it first/);
    const missing = await cli(['recover', '--endpoint', 'hooks-gone'], svcEnv());
    assert.equal(missing.code, 2);
  });
});

describe('migrate', () => {
  test("applies the service's migrations, then the admins' folder with variables from the environment; a second run skips them", async () => {
    const empty = await createEmptyDatabase('cli_migrate');
    const dir = await mkdtemp(join(tmpdir(), 'admin-migrations-'));
    try {
      await writeFile(
        join(dir, '0001_crm_endpoints.sql'),
        "insert into webhooks.endpoints (name, url, event_types, secret) values ('crm', 'https://crm.example.com/in', array['call.ended'], :'CRM_SECRET');\n",
      );
      const migrateEnv = { DATABASE_URL: empty.url, ADMIN_MIGRATIONS_DIR: dir, CRM_SECRET: SECRET };
      const first = await cli(['migrate'], migrateEnv);
      assert.equal(first.code, 0, first.stderr);
      assert.match(first.stdout, /^service {2}0001_webhooks_schema\.sql {2}applied\n/);
      assert.match(first.stdout, /\nadmin {4}0001_crm_endpoints\.sql {2}applied\n/);
      assert.match(first.stdout, /Applied \d+ migrations\.\n$/);

      const second = json<{ service: Array<{ status: string }>; admin: Array<{ version: number; name: string; status: string }> }>(
        await cli(['migrate', '--json'], migrateEnv),
      );
      assert.ok(second.service.length >= 1 && second.service.every((r) => r.status === 'skipped'));
      assert.deepEqual(second.admin, [{ version: 1, name: '0001_crm_endpoints.sql', status: 'skipped' }]);

      const list = json<Array<{ name: string; secret: string }>>(
        await cli(['endpoints', 'list', '--json', '--show-secrets'], { DATABASE_URL: empty.url }),
      );
      assert.deepEqual(
        list.map((e) => [e.name, e.secret]),
        [['crm', SECRET]],
      );

      const unset = await cli(['migrate'], { DATABASE_URL: empty.url, ADMIN_MIGRATIONS_DIR: dir });
      assert.equal(unset.code, 0, 'an applied file is not read for variables again');
      await writeFile(join(dir, '0002_more.sql'), "update webhooks.endpoints set secret = :'NEW_SECRET' where name = 'crm';\n");
      const missingVar = await cli(['migrate'], { DATABASE_URL: empty.url, ADMIN_MIGRATIONS_DIR: dir });
      assert.equal(missingVar.code, 1);
      assert.match(missingVar.stderr, /variable :'NEW_SECRET' is not set/);
    } finally {
      await rm(dir, { recursive: true, force: true });
      await empty.drop();
    }
  });
});
