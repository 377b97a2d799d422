import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sql } from 'kysely';
import type { Service } from '../../src/service.ts';
import { type TestKafka } from '../support/kafka.ts';
import { waitFor } from '../support/wait-for.ts';
import { type TestReceiver } from '../support/receiver.ts';
import { openDispatcherFixture, type DispatcherFixture } from '../support/service.ts';

const SECRET = 'whsec_' + Buffer.alloc(32, 13).toString('base64');
const TIMEOUT_MS = 8000;
let fixture: DispatcherFixture;
let db: DispatcherFixture['db'];
let kafka: TestKafka;
let receiver: TestReceiver;
let service: Service;
let input: string;

before(async () => {
  fixture = await openDispatcherFixture('isolation', {
    secret: SECRET,
    endpoints: [
      ['healthy', 200],
      ['hung', 'hang'],
    ],
    env: { DELIVERY_TIMEOUT_MS: String(TIMEOUT_MS), ENDPOINT_CONCURRENCY: '4', ENDPOINT_STALL_MS: '300', RETRY_DELAYS: '10m' },
  });
  ({ db, kafka, receiver, service, input } = fixture);
});

after(() => fixture?.close());

test('a healthy endpoint gets every event while another hangs on every request, before the first of those times out', async () => {
  const EVENTS = 300;
  await kafka.produce(
    input,
    Array.from({ length: EVENTS }, (_, i) => ({
      value: JSON.stringify({ event: 'call.ended', timestamp: new Date().toISOString(), data: { call_id: `i${i}` } }),
    })),
  );
  await receiver.waitFor((r) => r.filter((x) => x.path === '/healthy').length >= EVENTS, 30_000, 'every event at the healthy endpoint');
  // Not one hanging request has timed out yet: the healthy endpoint did not wait for any of them.
  const timedOut = await sql<{ n: number }>`select count(*)::int as n from webhooks.attempts where error_kind = 'timeout'`.execute(db.db);
  assert.equal(timedOut.rows[0]!.n, 0, 'all healthy deliveries arrived before the hung endpoint timed out once');
  assert.ok(receiver.to('/hung').length <= 4, `at most ENDPOINT_CONCURRENCY requests hang at once, got ${receiver.to('/hung').length}`);

  // The rest of the hung endpoint's deliveries failed at once, unsent, and wait for their retry;
  // the input offsets are committed meanwhile.
  const stalled = await waitFor(
    async () => {
      const r = await sql<{ delivery_id: string }>`
      select a.delivery_id from webhooks.attempts a join webhooks.deliveries d on d.id = a.delivery_id
       where a.error_kind = 'stalled' and a.status_code is null and d.status = 'retrying'`.execute(db.db);
      return r.rows.length + receiver.to('/hung').length >= EVENTS ? r.rows : null;
    },
    { what: 'stalled attempts recorded', timeoutMs: 20_000 },
  );
  // Unsent: no stalled delivery ever reached the receiver, and every delivery was either sent
  // (and hangs) or stalled.
  const sent = new Set(receiver.to('/hung').map((r) => String(r.headers['webhook-id'])));
  assert.deepEqual(
    stalled.filter((a) => sent.has(a.delivery_id)),
    [],
    'a stalled attempt was sent',
  );
  assert.equal(stalled.length + sent.size, EVENTS, 'each hung-endpoint delivery is either sent once or stalled');
  const total = (await kafka.admin.fetchTopicOffsets(input)).reduce((s, p) => s + Number(p.high), 0);
  await waitFor(async () => (await kafka.committedTotal(service.config.kafka.groupId, input)) >= total - 4, {
    what: 'input committed up to the few messages still waiting on hung requests',
    timeoutMs: 20_000,
  });
  // The hanging requests end as timeouts after DELIVERY_TIMEOUT_MS and everything is committed.
  await waitFor(async () => (await kafka.committedTotal(service.config.kafka.groupId, input)) === total, {
    what: 'everything committed',
    timeoutMs: TIMEOUT_MS + 20_000,
  });
  const t = await sql<{ n: number }>`select count(*)::int as n from webhooks.attempts where error_kind = 'timeout'`.execute(db.db);
  assert.ok(t.rows[0]!.n >= 1 && t.rows[0]!.n <= 4);
});
