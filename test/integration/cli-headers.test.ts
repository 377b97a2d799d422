import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createTestDatabase, TEST_ALLOW_NETWORKS, type TestDatabase } from '../support/database.ts';
import { runProcess, type ProcessRun } from '../support/run-process.ts';

// The CLI's --header, --remove-header and --clear-headers, and the masking of header values in
// everything it prints (tables, fields, JSON, even with --show-secrets).

let db: TestDatabase;
let env: Record<string, string>;
const TOKEN = 'tok-7f3a9c-very-secret';

function cli(args: string[]): Promise<ProcessRun> {
  return runProcess(process.execPath, ['src/cli/main.ts', ...args], { env });
}

async function stored(name: string): Promise<unknown> {
  const row = await db.db.selectFrom('webhooks.endpoints').select('headers').where('name', '=', name).executeTakeFirstOrThrow();
  return row.headers;
}

before(async () => {
  db = await createTestDatabase('cli_headers');
  env = { DATABASE_URL: db.url, REQUIRE_HTTPS: 'false', DELIVERY_ALLOW_NETWORKS: TEST_ALLOW_NETWORKS };
});

after(async () => {
  await db?.drop();
});

test('endpoints add --header stores the headers and prints their names with masked values only', async () => {
  const run = await cli([
    'endpoints',
    'add',
    '--name',
    'crm',
    '--url',
    'https://crm.example.com/hooks',
    '--events',
    'call.ended',
    '--header',
    `Authorization: Bearer ${TOKEN}`,
    '--header',
    'X-Tenant: acme-42',
  ]);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /headers: +Authorization: Bearer \*\*\*\*, X-Tenant: \*\*\*\*/);
  assert.doesNotMatch(run.stdout + run.stderr, new RegExp(`${TOKEN}|acme-42`));
  assert.deepEqual(await stored('crm'), { Authorization: `Bearer ${TOKEN}`, 'X-Tenant': 'acme-42' });
});

test('endpoints list and show mask header values in tables and JSON, even with --show-secrets', async () => {
  const runs = await Promise.all([
    cli(['endpoints', 'list']),
    cli(['endpoints', 'list', '--json', '--show-secrets']),
    cli(['endpoints', 'show', 'crm']),
    cli(['endpoints', 'show', 'crm', '--json', '--show-secrets']),
  ]);
  for (const run of runs) {
    assert.equal(run.code, 0, run.stderr);
    assert.doesNotMatch(run.stdout, new RegExp(`${TOKEN}|acme-42`));
  }
  assert.match(runs[0]!.stdout, /HEADERS/);
  assert.match(runs[0]!.stdout, /Authorization,X-Tenant/);
  const [listed] = JSON.parse(runs[1]!.stdout) as Array<{ headers: unknown }>;
  assert.deepEqual(listed!.headers, { Authorization: 'Bearer ****', 'X-Tenant': '****' });
  assert.match(runs[2]!.stdout, /headers: +Authorization: Bearer \*\*\*\*, X-Tenant: \*\*\*\*/);
  assert.deepEqual((JSON.parse(runs[3]!.stdout) as { headers: unknown }).headers, { Authorization: 'Bearer ****', 'X-Tenant': '****' });
});

test('endpoints update replaces a header in any case, removes one by name and clears them all', async () => {
  let run = await cli(['endpoints', 'update', 'crm', '--header', 'authorization: Bearer new-token', '--remove-header', 'x-tenant']);
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(await stored('crm'), { authorization: 'Bearer new-token' });
  assert.doesNotMatch(run.stdout, /new-token/);
  run = await cli(['endpoints', 'update', 'crm', '--clear-headers', '--header', 'X-Api-Key: k1']);
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(await stored('crm'), { 'X-Api-Key': 'k1' });
  run = await cli(['endpoints', 'update', 'crm', '--clear-headers']);
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(await stored('crm'), {});
});

test('a header that would override ours or is malformed is refused with its message (exit 2), naming it and not its value', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['--header', 'X-Webhook-Signature: forged-sig'], /--header: header X-Webhook-Signature may not be set/],
    [['--header', 'webhook-id: forged-sig'], /header webhook-id may not be set/],
    [['--header', 'Bad Name: forged-sig'], /header name "Bad Name" is not a valid HTTP header name/],
    [['--header', 'forged-sig'], /a header must be given as "Name: value"/],
    [['--header', 'X-A: 1', '--header', 'x-a: forged-sig'], /--header x-a is given twice/],
  ];
  for (const [args, message] of cases) {
    const run = await cli(['endpoints', 'update', 'crm', ...args]);
    assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
    assert.match(run.stderr, message);
    assert.doesNotMatch(run.stderr, /forged-sig/);
  }
  assert.deepEqual(await stored('crm'), {}, 'nothing was written');
});
