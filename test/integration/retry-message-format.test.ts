import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { sql } from 'kysely';
import { COMPACT_HEADER, encodeTask, headerString, type TaskFormat } from '../../src/retry/retry-message.ts';
import { failFirst } from '../support/receiver.ts';
import { openDispatcherFixture, type DispatcherFixture } from '../support/service.ts';
import { waitFor } from '../support/wait-for.ts';

// A dispatcher writing the compact format (RETRY_MESSAGE_FORMAT=compact) beside tasks in both
// formats written by others on its delay topic, as during a rolling deploy: it reads each.
const SECRET = 'whsec_' + Buffer.alloc(32, 4).toString('base64');
let f: DispatcherFixture;

function event(id: string): string {
  return JSON.stringify({ event: 'call.ended', timestamp: new Date().toISOString(), data: { call_id: id, agent: 'a' } });
}

before(async () => {
  f = await openDispatcherFixture('retry-format', {
    secret: SECRET,
    endpoints: [
      ['flaky', failFirst(2)],
      ['ok', 200],
    ],
    env: { RETRY_DELAYS: '500ms,1s', RETRY_MESSAGE_FORMAT: 'compact' },
  });
});

after(() => f?.close());

test('with RETRY_MESSAGE_FORMAT=compact the retries travel as one task header and follow the schedule', async () => {
  await f.kafka.produce(f.input, [{ value: event('compact-1'), headers: { 'event-id': 'compact-1' } }]);
  await f.receiver.waitFor((r) => r.filter((x) => x.path === '/flaky').length >= 3, 20_000, 'three attempts at /flaky');
  const reqs = f.receiver.to('/flaky');
  assert.deepEqual(
    reqs.map((r) => r.headers['x-webhook-attempt']),
    ['1', '2', '3'],
  );
  for (let i = 1; i < reqs.length; i++) assert.ok(reqs[i]!.at - reqs[i - 1]!.at >= [500, 1000][i - 1]!, `attempt ${i + 1} not early`);
  for (const r of reqs) assert.ok(r.specSignatureValid && r.standardSignatureValid);

  const messages = [...(await f.kafka.readAll(f.service.topics.retry[0]!)), ...(await f.kafka.readAll(f.service.topics.retry[1]!))];
  assert.equal(messages.length, 2, 'one retry message per failed attempt');
  for (const m of messages) {
    assert.ok(headerString(m.headers, COMPACT_HEADER), 'the task header');
    for (const old of ['delivery-id', 'endpoint-id', 'attempt', 'due-at']) assert.equal(headerString(m.headers, old), undefined, old);
  }
  const status = await waitFor(
    async () =>
      (
        await sql<{ status: string; attempts: number; rows: number }>`
        select d.status, d.attempts, (select count(*)::int from webhooks.attempts a where a.delivery_id = d.id) as rows
          from webhooks.deliveries d join webhooks.endpoints e on e.id = d.endpoint_id
         where d.event_id = 'compact-1' and e.name = 'flaky' and d.status = 'succeeded'`.execute(f.db.db)
      ).rows[0],
    { what: 'the delivery succeeded in the log' },
  );
  assert.deepEqual(status, { status: 'succeeded', attempts: 3, rows: 3 });
});

test('tasks in either format on a delay topic are attempted: one from an older dispatcher, one from a newer', async () => {
  const { id: endpointId } = await f.db.db.selectFrom('webhooks.endpoints').select('id').where('name', '=', 'ok').executeTakeFirstOrThrow();
  const now = Date.now();
  const formats: TaskFormat[] = ['headers', 'compact'];
  const ids = formats.map(() => randomUUID());
  await f.kafka.produce(
    f.service.topics.retry[0]!,
    formats.map((format, i) => ({
      ...encodeTask(
        {
          deliveryId: ids[i]!,
          endpointId,
          eventId: `mixed-${format}`,
          eventType: 'call.ended',
          eventTimestampMs: now,
          series: 1,
          attempt: 2,
          firstAttemptAtMs: now - 500,
          dueAtMs: now + 300,
          delayMs: 500,
          body: Buffer.from(event(`mixed-${format}`)),
        },
        {},
        format,
      ),
      partition: 0,
    })),
  );
  for (const [i, format] of formats.entries()) {
    const req = await waitFor(() => f.receiver.to('/ok').find((r) => r.headers['webhook-id'] === ids[i]), {
      what: `the ${format} task's attempt`,
    });
    assert.equal(req.headers['x-webhook-attempt'], '2', format);
    assert.ok(req.at >= now + 300, `${format}: not before its due time`);
    assert.equal(JSON.parse(req.body.toString()).data.call_id, `mixed-${format}`);
  }
  const rows = await waitFor(
    async () => {
      const r = await sql<{ id: string; status: string; attempts: number }>`
        select id, status, attempts from webhooks.deliveries where id = any(${ids}::uuid[]) order by event_id`.execute(f.db.db);
      return r.rows.length === 2 && r.rows.every((x) => x.status === 'succeeded') ? r.rows : undefined;
    },
    { what: 'both logged as succeeded' },
  );
  assert.deepEqual(
    rows.map((r) => r.attempts),
    [2, 2],
  );
  const invalid = await f.kafka.readAll(f.service.topics.invalid);
  assert.equal(invalid.length, 0, 'nothing went to the invalid topic');
});
