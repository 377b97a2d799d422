/**
 * The guard and REQUIRE_HTTPS in a running dispatcher: endpoints written before the settings were
 * on get nothing at send, each attempt is recorded (blocked / insecure_url), counted, and not
 * retried. Then a log scan: after real deliveries, failures and redirects, no log line of either
 * dispatcher holds a secret, a signature, a credential or a URL's path or query. Receivers are on
 * loopback only; the blocked ones are refused before any packet leaves.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import pino from 'pino';
import { loadConfig } from '../../src/config.ts';
import { writeSettings } from '../../src/endpoints/endpoint-store.ts';
import { startService, type Service } from '../../src/service.ts';
import { createTestDatabase, dbError, type TestDatabase } from '../support/database.ts';
import { openTestKafka, type TestKafka } from '../support/kafka.ts';
import { TestReceiver } from '../support/receiver.ts';
import { testEnv } from '../support/service.ts';
import { waitFor } from '../support/wait-for.ts';

const SECRETS = {
  plain: 'whsec_cGxhaW4tc2VjcmV0LWZvci10aGUtbG9nLXNjYW4tMDE=',
  literal: 'literal-secret-for-the-log-scan-0002',
  named: 'whsec_bmFtZWQtc2VjcmV0LWZvci10aGUtbG9nLXNjYW4tMDM=',
  slack: 'whsec_c2xhY2stc2VjcmV0LWZvci10aGUtbG9nLXNjYW4tMDQ=',
  failing: 'failing-secret-for-the-log-scan-0005',
  moved: 'moved-secret-for-the-log-scan-00006',
  rotated: 'whsec_cm90YXRlZC1vbGQtc2VjcmV0LWZvci1sb2ctc2Nhbg==',
};
// Tokens in URL paths, queries and a redirect's Location: none may reach a log line.
const URL_TOKENS = ['T0PATHTOKEN', 'xoxbQUERYTOKEN', 'FAILPATHTOKEN', 'LOCATIONTOKEN', 'REGISTRYPASSWORD'];

let db: TestDatabase;
let kafka: TestKafka;
let receiver: TestReceiver;
const logs: string[] = [];
const services: Service[] = [];

function captureLogger(): pino.Logger {
  return pino(
    { level: 'debug' },
    new Writable({
      write(chunk: Buffer, _enc, done) {
        logs.push(chunk.toString());
        done();
      },
    }),
  );
}

async function addEndpoint(name: string, url: string, secret: string): Promise<void> {
  await db.pool.query(`insert into webhooks.endpoints (name, url, secret, event_types) values ($1, $2, $3, '{call.ended}')`, [
    name,
    url,
    secret,
  ]);
}

async function start(label: string, overrides: Record<string, string>): Promise<{ service: Service; input: string }> {
  const env = testEnv(db.url, label, overrides);
  await kafka.createTopic(env.INPUT_TOPICS!, 1);
  const service = await startService(loadConfig(env), captureLogger());
  services.push(service);
  return { service, input: env.INPUT_TOPICS! };
}

const event = (n: number): string =>
  JSON.stringify({ event: 'call.ended', timestamp: new Date().toISOString(), data: { call_id: `sec-${n}`, agent: 'jsmith' } });

before(async () => {
  db = await createTestDatabase('egress_delivery');
  kafka = await openTestKafka('egress_delivery');
  receiver = await TestReceiver.start();
});

after(async () => {
  for (const s of services) await s.stop();
  await receiver?.close();
  await kafka?.close();
  await db?.drop();
});

test('with REQUIRE_HTTPS unset, existing http and internal endpoints get nothing at send, recorded and not retried', async () => {
  // Written while the test template allowed http and loopback ("before the setting").
  await addEndpoint('plain', receiver.route('/plain', SECRETS.plain), SECRETS.plain);
  receiver.route('/literal', SECRETS.literal);
  await addEndpoint('literal', `https://127.0.0.1:${receiver.port}/literal`, SECRETS.literal);
  await addEndpoint('named', `https://localhost:${receiver.port}/named`, SECRETS.named);

  const { service, input } = await start('egress', { REQUIRE_HTTPS: '', DELIVERY_ALLOW_NETWORKS: '127.0.0.2/32', RETRY_DELAYS: '1s' });
  await kafka.produce(input, [{ key: 'k', value: event(1) }]);

  type Row = { name: string; status: string; attempts: number; error_kind: string; error: string; n: number };
  let rows: Row[] = [];
  await waitFor(
    async () => {
      ({ rows } = await db.pool.query<Row>(
        `select e.name, d.status, d.attempts, a.error_kind, a.error, count(*) over (partition by d.id)::int as n
           from webhooks.deliveries d join webhooks.endpoints e on e.id = d.endpoint_id
           join webhooks.attempts a on a.delivery_id = d.id order by e.name`,
      ));
      return rows.length === 3 && rows.every((r) => r.status === 'dead');
    },
    { what: 'three dead deliveries', timeoutMs: 60_000 },
  );
  const by = Object.fromEntries(rows.map((r) => [r.name, r]));
  assert.equal(by.plain!.error_kind, 'insecure_url');
  assert.match(by.plain!.error, /REQUIRE_HTTPS/);
  assert.equal(by.literal!.error_kind, 'blocked');
  assert.equal(
    by.literal!.error,
    'blocked by the egress guard: 127.0.0.1 is loopback; add its network to DELIVERY_ALLOW_NETWORKS to allow it',
  );
  assert.equal(by.named!.error_kind, 'blocked');
  assert.match(by.named!.error, /\(localhost resolves to it\) is loopback/);
  for (const r of rows) assert.deepEqual([r.attempts, r.n], [1, 1], `${r.name}: one attempt, no retry`);
  assert.equal(receiver.requests.length, 0, 'no request reached the receiver');

  const metric = await service.metrics.registry.getSingleMetricAsString('webhooks_egress_refused_total');
  assert.match(metric, /webhooks_egress_refused_total\{reason="blocked"\} 2\b/);
  assert.match(metric, /webhooks_egress_refused_total\{reason="insecure_url"\} 1\b/);

  // The dispatcher wrote its settings at start: a new http endpoint is refused at insert.
  const err = await dbError(addEndpoint('plain-new', receiver.url('/plain-new'), SECRETS.plain));
  assert.match(err.message, /requires https/);
  assert.equal(err.column, 'url');
  await service.stop();
});

test('after deliveries, failures and redirects, no log line holds a secret, a signature, a credential or a URL path', async () => {
  await db.pool.query('delete from webhooks.endpoints');
  await writeSettings(db.db, { requireHttps: false, allowNetworks: ['127.0.0.0/8'] });
  await addEndpoint('slack', receiver.route('/services/T0PATHTOKEN/B0', SECRETS.slack) + '?token=xoxbQUERYTOKEN', SECRETS.slack);
  await addEndpoint('failing', receiver.route('/FAILPATHTOKEN', SECRETS.failing, 500), SECRETS.failing);
  await addEndpoint('moved', receiver.route('/moved', SECRETS.moved, { redirect: receiver.url('/admin?t=LOCATIONTOKEN') }), SECRETS.moved);
  // A rotation in progress: the old secret signs too and must not be logged either.
  await db.pool.query(
    `update webhooks.endpoints set previous_secret = $1, previous_secret_expires_at = now() + interval '1 hour' where name = 'slack'`,
    [SECRETS.rotated],
  );
  const registry = new URL(process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081/apis/ccompat/v7');
  registry.username = 'registry-user';
  registry.password = 'REGISTRYPASSWORD';
  const { input } = await start('logscan', {
    LOG_LEVEL: 'debug',
    RETRY_DELAYS: '200ms,200ms',
    SCHEMA_REGISTRY_URL: registry.toString(),
    KAFKA_SASL_MECHANISM: '',
  });
  await kafka.produce(
    input,
    [1, 2].map((n) => ({ key: `k${n}`, value: event(n) })),
  );
  await waitFor(
    async () => {
      const { rows } = await db.pool.query<{ n: number }>(
        // This test's endpoints only: the three refused deliveries of the test before stay in the table.
        `select count(*)::int as n from webhooks.deliveries d join webhooks.endpoints e on e.id = d.endpoint_id
          where d.status in ('succeeded', 'dead')`,
      );
      return rows[0]!.n === 6;
    },
    { what: 'six settled deliveries', timeoutMs: 60_000 },
  );
  for (const s of services) await s.stop();

  const text = logs.join('');
  assert.ok(logs.length > 10, `the dispatchers logged (${logs.length} lines)`);
  assert.match(text, /"origin":"http:\/\/127\.0\.0\.1:\d+"/, 'failure lines name the origin');
  assert.match(text, /"endpoint":"failing"/, 'and the endpoint');
  const signatures = receiver.requests.flatMap((r) => [
    String(r.headers['x-webhook-signature']),
    ...String(r.headers['webhook-signature'])
      .split(' ')
      .map((s) => s.replace(/^v1,/, '')),
  ]);
  assert.ok(signatures.length >= 12, 'the receivers saw signed requests');
  const needles = [...Object.values(SECRETS), ...Object.values(SECRETS).map((s) => s.replace(/^whsec_/, '')), ...URL_TOKENS, ...signatures];
  for (const needle of needles) assert.ok(!text.includes(needle), `a log line contains ${needle.slice(0, 12)}…`);
});
