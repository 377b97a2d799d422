import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { migrate, readMigrations, substituteVariables } from '../../src/db/migrator.ts';
import type { Service } from '../../src/service.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { openTestKafka, type TestKafka } from '../support/kafka.ts';
import { waitFor } from '../support/wait-for.ts';
import { TestReceiver } from '../support/receiver.ts';
import { startTestService, testEnv } from '../support/service.ts';

// Runs every SQL recipe of docs/admin.md, in document order, against a database with a real
// delivery history made by the real dispatcher against a real receiver, and checks the effect of
// the key ones. A recipe is a ```sql block right after `<!-- recipe: NAME -->`; placeholders are
// psql variables (:'name'), replaced with quoted values exactly as psql would.

const DOC = new URL('../../docs/admin.md', import.meta.url);

interface Recipe {
  name: string;
  /** For subscriptions-as-code recipes: the admin migration file the block is. */
  file: string | null;
  sql: string;
}

function parseRecipes(markdown: string): Recipe[] {
  const re = /<!-- recipe: ([a-z0-9-]+)(?: file=(\S+))? -->\n```sql\n([\s\S]*?)\n```/g;
  return [...markdown.matchAll(re)].map((m) => ({ name: m[1]!, file: m[2] ?? null, sql: m[3]! }));
}

const REQUIRED = [
  'add-crm-endpoint',
  'disable-endpoint',
  'enable-endpoint',
  'change-events',
  'find-failing-endpoints',
  'why-delivery-failed',
  'redeliver',
  'recover',
  'rotate-secret',
  'admin-migration-add',
  'admin-migration-change',
  'troubleshoot-no-deliveries',
  'troubleshoot-4xx',
  'troubleshoot-5xx',
  'troubleshoot-signature',
];

const SECRETS = {
  ok: 'whsec_' + Buffer.alloc(32, 31).toString('base64'),
  auth: 'whsec_' + Buffer.alloc(32, 32).toString('base64'),
  flaky: 'whsec_' + Buffer.alloc(32, 33).toString('base64'),
  down: 'whsec_' + Buffer.alloc(32, 34).toString('base64'),
};

let db: TestDatabase;
let kafka: TestKafka;
let receiver: TestReceiver;
let service: Service;
let input: string;
let historyStartedAt: Date;
let downHealthy = false;
const ids: Record<string, string> = {};

function callEnded(n: number): string {
  return JSON.stringify({
    event: 'call.ended',
    timestamp: new Date().toISOString(),
    data: { call_id: `c${n}`, agent: 'jsmith', phone_number: '5551234567', duration: 180, disposition: 'SALE', campaign: 'Q1-Sales' },
  });
}

async function q<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<R[]> {
  return (await db.pool.query<R>(text, values)).rows;
}

async function endpointId(name: string): Promise<string> {
  const [row] = await q<{ id: string }>('select id from webhooks.endpoints where name = $1', [name]);
  return row!.id;
}

async function deliveryOf(endpointName: string, eventId: string): Promise<string> {
  const [row] = await q<{ id: string }>(
    'select d.id from webhooks.deliveries d join webhooks.endpoints e on e.id = d.endpoint_id where e.name = $1 and d.event_id = $2',
    [endpointName, eventId],
  );
  return row!.id;
}

before(async () => {
  db = await createTestDatabase('admin_docs');
  kafka = await openTestKafka('admin-docs');
  receiver = await TestReceiver.start();
  const flakySeen = new Map<string, number>();
  const endpoints: Array<[string, string, string]> = [
    ['docs-ok', receiver.route('/ok', SECRETS.ok, 200), SECRETS.ok],
    ['docs-auth', receiver.route('/auth', SECRETS.auth, () => ({ status: 401, body: 'invalid token' })), SECRETS.auth],
    [
      'docs-flaky',
      receiver.route('/flaky', SECRETS.flaky, (_n: number, req: IncomingMessage) => {
        const id = String(req.headers['webhook-id']);
        const seen = (flakySeen.get(id) ?? 0) + 1;
        flakySeen.set(id, seen);
        return seen === 1 ? { status: 503, body: 'upstream busy' } : { status: 200 };
      }),
      SECRETS.flaky,
    ],
    [
      'docs-down',
      receiver.route('/down', SECRETS.down, () => (downHealthy ? { status: 200 } : { status: 500, body: 'down' })),
      SECRETS.down,
    ],
  ];
  for (const [name, url, secret] of endpoints) {
    await q(`insert into webhooks.endpoints (name, url, event_types, secret) values ($1, $2, array['call.ended'], $3)`, [
      name,
      url,
      secret,
    ]);
  }
  const env = testEnv(db.url, 'admindocs', { RETRY_DELAYS: '200ms,300ms,400ms' });
  input = env.INPUT_TOPICS!;
  [{ now: historyStartedAt }] = (await q<{ now: Date }>('select now()')) as [{ now: Date }];
  service = await startTestService(env);
  // Redelivery requests are picked up by the service's own watcher.

  // The history: two call.ended events to four endpoints, until every delivery has settled.
  await kafka.produce(
    input,
    [1, 2].map((n) => ({ key: `k${n}`, value: callEnded(n), headers: { 'event-id': `evt-docs-${n}` } })),
  );
  await waitFor(
    async () => {
      const rows = await q<{ name: string; status: string }>(
        `select e.name, d.status from webhooks.deliveries d join webhooks.endpoints e on e.id = d.endpoint_id`,
      );
      const want: Record<string, string> = { 'docs-ok': 'succeeded', 'docs-flaky': 'succeeded', 'docs-auth': 'dead', 'docs-down': 'dead' };
      return rows.length === 8 && rows.every((r) => want[r.name] === r.status);
    },
    { what: 'the delivery history to settle', timeoutMs: 60_000 },
  );
  ids.auth1 = await deliveryOf('docs-auth', 'evt-docs-1');
  ids.down1 = await deliveryOf('docs-down', 'evt-docs-1');
  ids.down2 = await deliveryOf('docs-down', 'evt-docs-2');
});

after(async () => {
  await service?.stop();
  await receiver?.close();
  await kafka?.close();
  await db?.drop();
});

type Rows = Array<Record<string, unknown>>;

interface Plan {
  /** Values for this recipe's placeholders, over the defaults of `valuesFor`. */
  values?: () => Record<string, string>;
  /** Runs before the recipe. */
  prepare?: () => Promise<void>;
  /** Gets the rows of each statement of the recipe. */
  check?: (results: Rows[]) => Promise<void> | void;
}

let crmSecret = '';

const plans: Record<string, Plan> = {
  'add-crm-endpoint': {
    async check([rows]) {
      assert.equal(rows!.length, 1);
      const row = rows![0]!;
      assert.equal(row.name, 'crm-docs');
      assert.deepEqual(row.event_types, ['call.ended', 'lead.updated']);
      assert.match(String(row.secret), /^whsec_[A-Za-z0-9+/]{43}=$/);
      crmSecret = String(row.secret);
      // It works: the dispatcher picks it up and delivers a lead.updated, signed with that secret.
      receiver.route('/crm-docs', crmSecret, 200);
      await waitFor(() => service.endpoints.get(String(row.id)), { what: 'crm-docs in the index' });
      await kafka.produce(input, [
        {
          value: JSON.stringify({
            event: 'lead.updated',
            timestamp: new Date().toISOString(),
            data: { lead_id: 'l1', changes: { status: 'won' } },
          }),
        },
      ]);
      await receiver.waitFor((r) => r.some((x) => x.path === '/crm-docs'), 20_000, 'a request at /crm-docs');
      const [req] = receiver.to('/crm-docs');
      assert.equal(req!.json.event, 'lead.updated');
      assert.ok(req!.specSignatureValid && req!.standardSignatureValid);
    },
  },
  'rate-limit-endpoint': {
    check([rows]) {
      assert.equal(rows!.length, 1);
      assert.equal(Number(rows![0]!.max_per_second), 5);
      assert.equal(rows![0]!.max_in_flight, 2);
    },
  },
  'list-endpoints': {
    check([rows]) {
      assert.deepEqual(
        rows!.map((r) => r.name),
        ['crm-docs', 'docs-auth', 'docs-down', 'docs-flaky', 'docs-ok'],
      );
    },
  },
  'change-events': {
    async check([rows]) {
      assert.deepEqual(rows![0]!.event_types, ['call.ended', 'lead.updated', 'recording.ready']);
      const id = await endpointId('crm-docs');
      await waitFor(() => service.endpoints.get(id)?.eventTypes.includes('recording.ready'), { what: 'the new events in the index' });
    },
  },
  'change-url': {
    async check([rows]) {
      assert.equal(rows![0]!.url, receiver.url('/crm-docs-v2'));
    },
  },
  'disable-endpoint': {
    async check([rows]) {
      assert.deepEqual(rows![0], { name: 'crm-docs', enabled: false, disabled_reason: 'paused by admin: CRM maintenance' });
      const id = await endpointId('crm-docs');
      await waitFor(() => service.endpoints.get(id) === undefined, { what: 'crm-docs to leave the index' });
    },
  },
  'enable-endpoint': {
    async check([rows]) {
      assert.deepEqual(rows![0], { name: 'crm-docs', enabled: true, disabled_reason: null });
      const id = await endpointId('crm-docs');
      await waitFor(() => service.endpoints.get(id), { what: 'crm-docs back in the index' });
    },
  },
  'find-failing-endpoints': {
    check([rows]) {
      const by = new Map(rows!.map((r) => [r.name, r]));
      assert.deepEqual([...by.keys()].sort(), ['docs-auth', 'docs-down', 'docs-flaky']);
      assert.equal(by.get('docs-auth')!.deliveries_dead, 2);
      assert.equal(by.get('docs-auth')!.last_failure_status_code, 401);
      assert.equal(by.get('docs-auth')!.success_ratio_1h, '0.000');
      assert.equal(by.get('docs-flaky')!.success_ratio_1h, '0.500', 'each delivery failed once, then succeeded');
      assert.equal(by.get('docs-flaky')!.deliveries_dead, 0);
    },
  },
  'endpoint-health': {
    values: () => ({ endpoint_name: 'docs-auth' }),
    check([rows]) {
      assert.equal(rows!.length, 1);
      assert.equal(rows![0]!.attempts_1h, 8, 'two deliveries, four attempts each');
      assert.equal(rows![0]!.last_failure_error, 'HTTP 401');
      assert.equal(rows![0]!.last_success_at, null);
    },
  },
  'endpoint-delivery-log': {
    values: () => ({ endpoint_name: 'docs-auth' }),
    check([rows]) {
      assert.equal(rows!.length, 8);
      for (const r of rows!) {
        assert.equal(r.status_code, 401);
        assert.equal(r.response_excerpt, 'invalid token');
      }
    },
  },
  'find-delivery-by-event': {
    values: () => ({ event_id: 'evt-docs-1' }),
    check([rows]) {
      assert.deepEqual(
        rows!.map((r) => [r.endpoint_name, r.status]),
        [
          ['docs-auth', 'dead'],
          ['docs-down', 'dead'],
          ['docs-flaky', 'succeeded'],
          ['docs-ok', 'succeeded'],
        ],
      );
    },
  },
  'why-delivery-failed': {
    values: () => ({ delivery_id: ids.auth1! }),
    check([rows]) {
      assert.deepEqual(
        rows!.map((r) => [r.series, r.attempt, r.status_code, r.error, r.response_excerpt, r.delivery_status]),
        [1, 2, 3, 4].map((n) => [1, n, 401, 'HTTP 401', 'invalid token', 'dead']),
      );
      assert.equal(rows![0]!.delay_ms, null);
      assert.deepEqual(
        rows!.slice(1).map((r) => r.delay_ms),
        [200, 300, 400],
        'the retry schedule',
      );
    },
  },
  redeliver: {
    values: () => ({ delivery_id: ids.down1! }),
    async prepare() {
      downHealthy = true;
    },
    async check([rows]) {
      assert.equal(rows![0]!.redeliver, ids.down1);
      await receiver.waitFor(
        (r) => r.filter((x) => x.path === '/down' && x.headers['webhook-id'] === ids.down1).length === 5,
        20_000,
        'the redelivery',
      );
      const resent = receiver
        .to('/down')
        .filter((x) => x.headers['webhook-id'] === ids.down1)
        .at(-1)!;
      assert.equal(resent.headers['x-webhook-attempt'], '1');
      assert.ok(resent.specSignatureValid && resent.standardSignatureValid);
      await waitFor(
        async () =>
          (await q(`select 1 from webhooks.deliveries where id = $1 and status = 'succeeded' and series = 2`, [ids.down1])).length === 1,
        {
          what: 'the redelivery recorded',
        },
      );
    },
  },
  'watch-delivery': {
    values: () => ({ delivery_id: ids.down1! }),
    check([rows]) {
      assert.deepEqual([rows![0]!.status, rows![0]!.series, rows![0]!.attempts, rows![0]!.last_status_code], ['succeeded', 2, 1, 200]);
    },
  },
  recover: {
    values: () => ({ endpoint_name: 'docs-down' }),
    async check([rows]) {
      assert.equal(rows![0]!.recover, 1, 'the other dead delivery of docs-down');
      await waitFor(
        async () =>
          (await q(`select 1 from webhooks.deliveries where id = $1 and status = 'succeeded' and series = 2`, [ids.down2])).length === 1,
        {
          what: 'the recovered delivery recorded',
        },
      );
      assert.ok(
        receiver
          .to('/down')
          .some((x) => x.headers['webhook-id'] === ids.down2 && x.headers['x-webhook-attempt'] === '1' && x.specSignatureValid),
      );
    },
  },
  replay: {
    values: () => ({ endpoint_name: 'docs-ok' }),
    async check([rows]) {
      const id = String(rows![0]!.replay_id);
      const done = await waitFor(
        async () => (await q(`select * from webhooks.replay_requests where id = $1 and status = 'done'`, [id]))[0],
        { what: 'the replay run by the service', timeoutMs: 60_000 },
      );
      assert.deepEqual([done.queued, done.skipped_succeeded], [0, 2], 'both of its events already delivered: nothing sent');
    },
  },
  'watch-replays': {
    check([rows]) {
      assert.equal(rows!.length, 1);
      assert.deepEqual([rows![0]!.status, rows![0]!.percent], ['done', '100']);
    },
  },
  'cancel-replay': {
    check([rows]) {
      assert.equal(rows!.length, 0, 'nothing left to cancel');
    },
  },
  'rotate-secret': {
    async check([rows]) {
      const fresh = String(rows![0]!.new_secret);
      assert.match(fresh, /^whsec_/);
      const [row] = await q<{ secret: string; previous_secret: string; hours: number }>(
        `select secret, previous_secret, extract(epoch from previous_secret_expires_at - now())::float8 / 3600 as hours from webhooks.endpoints where name = 'crm-docs'`,
      );
      assert.deepEqual([row!.secret, row!.previous_secret], [fresh, crmSecret]);
      assert.ok(row!.hours > 23.9 && row!.hours <= 24);
    },
  },
  'end-rotation-overlap': {
    async check([rows]) {
      assert.equal(rows![0]!.old_secret_erased, true);
      const [row] = await q<{ previous_secret: string | null; previous_secret_expires_at: Date | null }>(
        `select previous_secret, previous_secret_expires_at from webhooks.endpoints where name = 'crm-docs'`,
      );
      assert.deepEqual(row, { previous_secret: null, previous_secret_expires_at: null }, 'the overlap is over and the old secret erased');
    },
  },
  'admin-migration-add': {
    async check() {
      const [row] = await q(`select url, event_types, secret from webhooks.endpoints where name = 'crm-sync'`);
      assert.deepEqual(row, {
        url: 'https://crm.example.com/hooks/dialer',
        event_types: ['call.ended', 'lead.updated'],
        secret: ADMIN_ENV.CRM_SECRET,
      });
    },
  },
  'admin-migration-change': {
    async check() {
      const [row] = await q(`select event_types from webhooks.endpoints where name = 'crm-sync'`);
      assert.deepEqual(row!.event_types, ['call.ended', 'lead.updated', 'recording.ready']);
      const ledger = await q(`select version, name from webhooks.schema_migrations where migration_set = 'admin' order by version`);
      assert.deepEqual(ledger, [
        { version: 1, name: '0001_crm_endpoints.sql' },
        { version: 2, name: '0002_crm_recordings.sql' },
      ]);
    },
  },
  'troubleshoot-no-deliveries': {
    async prepare() {
      await q(`update webhooks.endpoints set enabled = false, disabled_reason = 'testing the recipe' where name = 'crm-docs'`);
    },
    async check([endpoint, recent]) {
      assert.equal(endpoint![0]!.enabled, false);
      assert.equal(endpoint![0]!.disabled_reason, 'testing the recipe');
      assert.equal(endpoint![0]!.subscribed, true);
      assert.deepEqual([recent![0]!.event_type, recent![0]!.deliveries_last_hour], ['call.ended', 8]);
      await q(`update webhooks.endpoints set enabled = true where name = 'crm-docs'`);
    },
  },
  'troubleshoot-4xx': {
    values: () => ({ endpoint_name: 'docs-auth' }),
    check([rows]) {
      assert.deepEqual(
        rows!.map((r) => [r.status_code, r.attempts, r.latest_response, r.url]),
        [[401, 8, 'invalid token', receiver.url('/auth')]],
      );
    },
  },
  'troubleshoot-5xx': {
    values: () => ({ endpoint_name: 'docs-flaky' }),
    check([rows]) {
      // One row per hour, status code and delivery status (two rows if the history crossed an hour).
      for (const r of rows!) assert.deepEqual([r.status_code, r.delivery_status], [503, 'succeeded'], 'both 503s were rescued by a retry');
      assert.equal(
        rows!.reduce((n, r) => n + Number(r.attempts), 0),
        2,
      );
    },
  },
  'troubleshoot-signature': {
    values: () => ({ endpoint_name: 'docs-auth', delivery_id: ids.auth1! }),
    check(results) {
      const [endpoint] = results[0]!;
      assert.equal(endpoint!.secret_starts, SECRETS.auth.slice(0, 12) + '…');
      assert.equal(endpoint!.previous_secret_still_valid, null);
      const select = results.find((r) => r.length > 0 && 'expected_x_webhook_signature' in r[0]!)!;
      const sent = receiver.to('/auth').find((x) => x.headers['webhook-id'] === ids.auth1)!;
      assert.equal(select[0]!.body_sent, sent.body.toString('utf8'), 'the exact bytes sent');
      assert.equal(select[0]!.expected_x_webhook_signature, sent.headers['x-webhook-signature'], 'the signature the receiver got');
    },
  },
};

const ADMIN_ENV = { CRM_SECRET: 'whsec_' + Buffer.alloc(32, 41).toString('base64'), CRM_URL: 'https://crm.example.com/hooks/dialer' };

function valuesFor(name: string): Record<string, string> {
  const defaults: Record<string, string> = {
    endpoint_name: 'crm-docs',
    endpoint_url: receiver.url('/crm-docs'),
    new_url: receiver.url('/crm-docs-v2'),
    delivery_id: ids.down1!,
    event_id: 'evt-docs-1',
    event_type: 'call.ended',
    since: historyStartedAt.toISOString(),
  };
  return { ...defaults, ...plans[name]?.values?.() };
}

test('docs/admin.md: every recipe runs against a real delivery history and does what the text says', async () => {
  const markdown = await readFile(DOC, 'utf8');
  const recipes = parseRecipes(markdown);
  const names = recipes.map((r) => r.name);
  for (const name of REQUIRED) assert.ok(names.includes(name), `docs/admin.md has a recipe "${name}"`);
  assert.equal(new Set(names).size, names.length, 'recipe names are unique');
  for (const name of Object.keys(plans)) assert.ok(names.includes(name), `the checks for "${name}" have a recipe to check`);
  assert.equal(recipes.length, (markdown.match(/<!-- recipe:/g) ?? []).length, 'every marker is followed by a ```sql block');

  // Every placeholder a recipe uses is in the documented table (admin files use environment variables).
  const documented = new Set([...markdown.matchAll(/^\| `([a-z_]+)` \|/gm)].map((m) => m[1]));
  for (const r of recipes.filter((r) => r.file === null)) {
    for (const [, v] of r.sql.matchAll(/:'([A-Za-z_][A-Za-z0-9_]*)'/g))
      assert.ok(documented.has(v), `${r.name}: placeholder :'${v}' is documented`);
  }

  const adminDir = await mkdtemp(join(tmpdir(), 'wh-docs-admin-'));
  try {
    for (const recipe of recipes) {
      const plan = plans[recipe.name] ?? {};
      await plan.prepare?.();
      let results: Rows[];
      if (recipe.file !== null) {
        // A subscriptions-as-code file: applied the way the service applies ADMIN_MIGRATIONS_DIR.
        await writeFile(join(adminDir, recipe.file), recipe.sql + '\n');
        const client = new pg.Client({ connectionString: db.url });
        await client.connect();
        try {
          const applied = await migrate(client, await readMigrations(adminDir), { set: 'admin', variables: ADMIN_ENV });
          assert.equal(applied.find((a) => a.name === recipe.file)?.status, 'applied', `${recipe.name} applied`);
        } finally {
          await client.end();
        }
        results = [];
      } else {
        const text = substituteVariables(recipe.sql, valuesFor(recipe.name), `docs/admin.md recipe ${recipe.name}`);
        let raw: pg.QueryResult | pg.QueryResult[];
        try {
          raw = (await db.pool.query(text)) as pg.QueryResult | pg.QueryResult[];
        } catch (err) {
          assert.fail(`recipe ${recipe.name} failed: ${(err as Error).message}\n${text}`);
        }
        results = (Array.isArray(raw) ? raw : [raw]).filter((r) => r.command === 'SELECT' || r.rows.length > 0).map((r) => r.rows);
      }
      await plan.check?.(results);
    }
  } finally {
    await rm(adminDir, { recursive: true, force: true });
  }
});
