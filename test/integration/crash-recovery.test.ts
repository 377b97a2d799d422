import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sql } from 'kysely';
import { ChildService } from '../support/child-service.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { openTestKafka, type TestKafka } from '../support/kafka.ts';
import { waitFor } from '../support/wait-for.ts';
import { failFirst, TestReceiver, type Behaviour } from '../support/receiver.ts';
import { testEnv } from '../support/service.ts';

const SECRET = 'whsec_' + Buffer.alloc(32, 3).toString('base64');
let kafka: TestKafka;
const cleanups: Array<() => Promise<unknown>> = [];

before(async () => {
  kafka = await openTestKafka('crash');
});
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
  await kafka.close();
});

function event(n: number): { value: string } {
  return {
    value: JSON.stringify({
      event: 'call.ended',
      timestamp: new Date().toISOString(),
      data: { call_id: `c${n}`, agent: 'a', duration: n % 600, disposition: 'SALE', campaign: 'Q1' },
    }),
  };
}

async function setup(
  label: string,
  endpoints: Array<[string, Behaviour]>,
  overrides: Record<string, string> = {},
): Promise<{ db: TestDatabase; receiver: TestReceiver; env: Record<string, string> }> {
  const db = await createTestDatabase(label);
  const receiver = await TestReceiver.start();
  cleanups.push(
    () => db.drop(),
    () => receiver.close(),
  );
  for (const [name, behaviour] of endpoints) {
    await db.db
      .insertInto('webhooks.endpoints')
      .values({ name, url: receiver.route(`/${name}`, SECRET, behaviour), secret: SECRET, event_types: ['call.ended'] })
      .execute();
  }
  const env = testEnv(db.url, label, { LOG_LEVEL: 'warn', ...overrides });
  await kafka.createTopic(env.INPUT_TOPICS!, 3);
  return { db, receiver, env };
}

async function produceInChunks(topic: string, total: number, chunk = 250): Promise<void> {
  for (let i = 0; i < total; i += chunk) {
    await kafka.produce(
      topic,
      Array.from({ length: Math.min(chunk, total - i) }, (_, j) => event(i + j)),
    );
  }
}

async function succeededIds(db: TestDatabase): Promise<Set<string>> {
  const r = await sql<{ id: string }>`select id from webhooks.deliveries where status = 'succeeded'`.execute(db.db);
  return new Set(r.rows.map((x) => x.id));
}

test('killed with SIGKILL mid-stream and restarted: every pair delivered, nothing that had succeeded sent again', async (t) => {
  const EVENTS = 3000;
  const { db, receiver, env } = await setup('sigkill', [
    ['crm', 200],
    ['audit', 200],
  ]);
  let svc = await ChildService.start(env);
  cleanups.push(async () => svc.kill('SIGKILL'));
  const producing = produceInChunks(env.INPUT_TOPICS!, EVENTS);
  await receiver.waitFor((r) => r.length >= 1500, 60_000, '1500 requests before the kill');
  svc.kill('SIGKILL');
  const exit = await svc.exited;
  assert.equal(exit.signal, 'SIGKILL');
  const succeededAtKill = await succeededIds(db);
  const requestsAtKill = receiver.requests.length;
  await producing;

  svc = await ChildService.start(env);
  await receiver.waitFor((r) => new Set(r.map((x) => x.headers['webhook-id'])).size >= EVENTS * 2, 120_000, 'every pair delivered');
  await waitFor(async () => (await succeededIds(db)).size === EVENTS * 2, {
    what: 'every delivery recorded as succeeded',
    timeoutMs: 30_000,
  });
  svc.kill('SIGTERM');
  assert.equal((await svc.exited).code, 0, 'a clean exit after SIGTERM');

  const ids = receiver.requests.map((r) => String(r.headers['webhook-id']));
  const unique = new Set(ids);
  assert.equal(unique.size, EVENTS * 2, 'every (event, endpoint) pair was delivered');
  const resent = receiver.requests.slice(requestsAtKill).filter((r) => succeededAtKill.has(String(r.headers['webhook-id'])));
  assert.equal(resent.length, 0, 'no delivery recorded as succeeded before the crash was sent again');
  const duplicates = ids.length - unique.size;
  t.diagnostic(
    `requests before kill: ${requestsAtKill}; succeeded recorded at kill: ${succeededAtKill.size}; duplicates after restart: ${duplicates} of ${ids.length} requests`,
  );
  assert.ok(duplicates <= requestsAtKill - succeededAtKill.size, 'only deliveries in flight at the crash can repeat');
  for (const r of receiver.requests) assert.ok(r.specSignatureValid);
});

test('SIGTERM mid-stream drains, commits and exits 0; the restart sends nothing twice', async (t) => {
  const EVENTS = 2000;
  const { db, receiver, env } = await setup('sigterm', [['crm', 200]]);
  let svc = await ChildService.start(env);
  cleanups.push(async () => svc.kill('SIGKILL'));
  const producing = produceInChunks(env.INPUT_TOPICS!, EVENTS);
  await receiver.waitFor((r) => r.length >= 700, 60_000, '700 requests before SIGTERM');
  svc.kill('SIGTERM');
  const exit = await svc.exited;
  assert.equal(exit.code, 0, `exit code after SIGTERM; output:\n${svc.output.slice(-2000)}`);
  const atStop = receiver.requests.length;
  await producing;
  svc = await ChildService.start(env);
  await receiver.waitFor((r) => new Set(r.map((x) => x.headers['webhook-id'])).size >= EVENTS, 120_000, 'every event delivered');
  await waitFor(async () => (await succeededIds(db)).size === EVENTS, { what: 'all recorded' });
  svc.kill('SIGTERM');
  await svc.exited;
  const ids = receiver.requests.map((r) => String(r.headers['webhook-id']));
  t.diagnostic(`requests at stop: ${atStop}; total ${ids.length}`);
  assert.equal(ids.length - new Set(ids).size, 0, 'a graceful stop leaves no duplicate');
});

test('retries waiting in each delay topic survive SIGKILL and restart', async (t) => {
  const EVENTS = 20;
  const failThree = failFirst(3, 500);
  const { db, receiver, env } = await setup('retrykill', [['flaky', failThree]], { RETRY_DELAYS: '1500ms,1500ms,1500ms' });
  let svc = await ChildService.start(env);
  cleanups.push(async () => svc.kill('SIGKILL'));
  await kafka.produce(
    env.INPUT_TOPICS!,
    Array.from({ length: EVENTS }, (_, i) => event(i)),
  );
  for (const round of [1, 2, 3]) {
    // Wait until every delivery has failed `round` times and is recorded as waiting in a delay topic.
    await waitFor(
      async () => {
        const r = await sql<{
          n: number;
        }>`select count(*)::int as n from webhooks.deliveries where status = 'retrying' and attempts >= ${round}`.execute(db.db);
        return r.rows[0]!.n === EVENTS;
      },
      { what: `all deliveries waiting after attempt ${round}`, timeoutMs: 60_000 },
    );
    svc.kill('SIGKILL');
    await svc.exited;
    svc = await ChildService.start(env);
  }
  await waitFor(async () => (await succeededIds(db)).size === EVENTS, {
    what: 'every delivery succeeded on its 4th attempt',
    timeoutMs: 60_000,
  });
  svc.kill('SIGTERM');
  await svc.exited;
  const counts = [...failThree.counts.values()];
  assert.equal(counts.length, EVENTS);
  assert.ok(
    counts.every((c) => c >= 4),
    'each delivery got all four attempts',
  );
  const extra = counts.reduce((a, c) => a + c - 4, 0);
  t.diagnostic(`requests beyond the four per delivery (repeats after kills): ${extra}`);
  assert.equal(receiver.requests.filter((r) => !r.specSignatureValid).length, 0);
});
