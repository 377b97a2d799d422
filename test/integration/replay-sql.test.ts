import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { main } from '../../src/cli/main.ts';
import { loadConfig } from '../../src/config.ts';
import { deliveryId } from '../../src/delivery/delivery-id.ts';
import { headerString } from '../../src/retry/retry-message.ts';
import { topicNames } from '../../src/topics/service-topics.ts';
import { openDispatcherFixture, type DispatcherFixture } from '../support/service.ts';
import { waitFor } from '../support/wait-for.ts';

const SECRET = 'whsec_' + Buffer.alloc(32, 9).toString('base64');

function callEnded(n: number): string {
  const data = { call_id: `c${n}`, agent: 'jsmith', phone_number: '5551234567', duration: 180, disposition: 'SALE', campaign: 'Q1-Sales' };
  return JSON.stringify({ event: 'call.ended', timestamp: new Date().toISOString(), data });
}

function callStarted(n: number): string {
  const data = { call_id: `c${n}`, agent: 'jsmith', phone_number: '5551234567', campaign: 'Q1-Sales' };
  return JSON.stringify({ event: 'call.started', timestamp: new Date().toISOString(), data });
}

interface ReplayRow {
  status: string;
  scanned: number;
  matched: number;
  queued: number;
  skipped_succeeded: number;
  filtered: number;
  offsets_done: number;
  offsets_total: number | null;
  claims: number;
  error: string | null;
  requested_by: string;
  started_at: Date | null;
  finished_at: Date | null;
}

describe('replays requested in SQL with webhooks.replay()', () => {
  let f: DispatcherFixture;
  let since: Date;
  const ids: Record<string, string> = {};

  async function addEndpoint(name: string, filter: unknown = null): Promise<string> {
    const row = await f.db.db
      .insertInto('webhooks.endpoints')
      .values({
        name,
        url: f.receiver.route(`/${name}`, SECRET),
        secret: SECRET,
        event_types: ['call.ended'],
        ...(filter ? { filter: JSON.stringify(filter) } : {}),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await waitFor(() => f.service.endpoints.get(row.id), { what: `endpoint ${name} in the dispatcher's index` });
    return row.id;
  }

  async function row(id: string): Promise<ReplayRow> {
    const { rows } = await f.db.pool.query<ReplayRow>('select * from webhooks.replay_requests where id = $1', [id]);
    return rows[0]!;
  }

  async function requestReplay(endpointId: string, from: Date, until: Date | null = null): Promise<string> {
    const { rows } = await f.db.pool.query<{ id: string }>('select webhooks.replay($1, $2, $3) as id', [endpointId, from, until]);
    return rows[0]!.id;
  }

  async function ended(id: string, what: string): Promise<ReplayRow> {
    return waitFor(
      async () => {
        const r = await row(id);
        return ['done', 'failed', 'cancelled'].includes(r.status) ? r : null;
      },
      { what, timeoutMs: 60_000 },
    );
  }

  async function succeeded(endpointId: string): Promise<number> {
    const { rows } = await f.db.pool.query(`select 1 from webhooks.deliveries where endpoint_id = $1 and status = 'succeeded'`, [
      endpointId,
    ]);
    return rows.length;
  }

  before(async () => {
    // A slow pace, so the cancellation test catches a replay under way; fast progress writes
    // are not needed: the default 2 s is well inside these tests' deadlines.
    f = await openDispatcherFixture('replaysql', { secret: SECRET, endpoints: [['always', 200]], env: { REPLAY_RATE: '10' } });
    ids.always = (await f.db.db.selectFrom('webhooks.endpoints').select('id').where('name', '=', 'always').executeTakeFirstOrThrow()).id;
    await f.kafka.produce(f.input, [{ value: callEnded(0), headers: { 'event-id': 'evt-0' }, partition: 0 }]);
    await f.receiver.waitFor((r) => r.filter((x) => x.path === '/always').length === 1, 30_000, 'the event before since');
    const before = Date.now();
    await waitFor(() => Date.now() > before, { what: 'the clock to move on', intervalMs: 1 });
    since = new Date();
    // Missed by "late" and "picky", which do not exist yet.
    await f.kafka.produce(f.input, [
      ...[1, 2, 3].map((n) => ({ value: callEnded(n), headers: { 'event-id': `evt-${n}` }, partition: 0 })),
      { value: callStarted(9), headers: { 'event-id': 'evt-started' }, partition: 0 },
    ]);
    await f.receiver.waitFor((r) => r.filter((x) => x.path === '/always').length === 4, 30_000, 'the missed events, live');
    ids.late = await addEndpoint('late');
    ids.picky = await addEndpoint('picky', { 'data.call_id': { $in: ['c1', 'c3'] } });
  });

  after(async () => {
    await f?.close();
  });

  test('delivers exactly the events since T, once each, and records its progress and summary in the row', async () => {
    const group = f.env.CONSUMER_GROUP!;
    await waitFor(async () => ((await f.kafka.committedTotal(group, f.input)) === 5 ? true : null), {
      what: 'the live group to commit the five events',
    });
    const id = await requestReplay(ids.late!, since);
    const r = await ended(id, 'the replay to end');
    assert.equal(r.status, 'done', r.error ?? '');
    assert.deepEqual([r.scanned, r.matched, r.queued, r.skipped_succeeded, r.filtered], [4, 3, 3, 0, 0]);
    assert.deepEqual([r.offsets_done, r.offsets_total], [4, 4]);
    assert.equal(r.claims, 1);
    assert.ok(r.started_at && r.finished_at && r.finished_at >= r.started_at);
    assert.equal(r.requested_by, 'webhooks');

    await waitFor(async () => ((await succeeded(ids.late!)) === 3 ? true : null), {
      what: 'the three replayed deliveries',
      timeoutMs: 30_000,
    });
    const got = f.receiver.to('/late');
    assert.equal(got.length, 3, 'evt-0 (before since) and the call.started are not delivered; none twice');
    assert.deepEqual(
      got.map((x) => String(x.headers['webhook-id'])).sort(),
      [1, 2, 3].map((n) => deliveryId(`evt-${n}`, ids.late!)).sort(),
    );
    assert.equal(await f.kafka.committedTotal(group, f.input), 5, "the live group's offsets are untouched");
    const { groups } = await f.kafka.admin.listGroups();
    assert.deepEqual(
      groups.filter((g) => g.groupId.startsWith(`${group}.replay.`)),
      [],
      "the replay's own group is deleted",
    );
  });

  test('a second replay sends nothing: every event is skipped as succeeded', async () => {
    const id = await requestReplay(ids.late!, since);
    const r = await ended(id, 'the second replay to end');
    assert.equal(r.status, 'done', r.error ?? '');
    assert.deepEqual([r.queued, r.skipped_succeeded], [0, 3]);
    assert.equal(f.receiver.to('/late').length, 3);
  });

  test("the endpoint's payload filter is applied and what it excludes is counted as filtered", async () => {
    const id = await requestReplay(ids.picky!, since);
    const r = await ended(id, 'the filtered replay to end');
    assert.equal(r.status, 'done', r.error ?? '');
    assert.deepEqual([r.matched, r.queued, r.filtered], [2, 2, 1]);
    await waitFor(async () => ((await succeeded(ids.picky!)) === 2 ? true : null), { what: 'the two filtered-in deliveries' });
    assert.deepEqual(
      f.receiver
        .to('/picky')
        .map((x) => (x.json.data as { call_id: string }).call_id)
        .sort(),
      ['c1', 'c3'],
    );
    const text = await f.service.metrics.registry.getSingleMetric('webhooks_replay_events_total')!.get();
    const filtered = text.values.find((v) => v.labels.outcome === 'filtered');
    assert.ok(filtered && filtered.value >= 1, 'counted in webhooks_replay_events_total{outcome="filtered"}');
  });

  test('a request with bad arguments is refused with a message that says what is wrong', async () => {
    const refused = async (args: unknown[], pattern: RegExp): Promise<void> => {
      await assert.rejects(f.db.pool.query('select webhooks.replay($1, $2, $3, $4)', args), pattern);
    };
    const disabled = await f.db.db
      .insertInto('webhooks.endpoints')
      .values({ name: 'off', url: f.receiver.route('/off', SECRET), secret: SECRET, event_types: ['call.ended'], enabled: false })
      .returning('id')
      .executeTakeFirstOrThrow();
    const hourAgo = new Date(Date.now() - 3_600_000);
    await refused(['00000000-0000-4000-8000-000000000000', hourAgo, null, null], /no endpoint with id 00000000-/);
    await refused([disabled.id, hourAgo, null, null], /endpoint "off" is disabled/);
    await refused([ids.late, new Date(Date.now() + 3_600_000), null, null], /since .* is in the future/);
    await refused([ids.late, hourAgo, new Date(hourAgo.getTime() - 1000), null], /until .* must be later than since/);
    await refused([ids.late, hourAgo, null, ['call.ended', 'call.nope']], /unknown event type call\.nope/);
    const { rows } = await f.db.pool.query('select 1 from webhooks.replay_requests where endpoint_id = $1', [disabled.id]);
    assert.equal(rows.length, 0);
  });

  test('a replay whose dispatcher died (lease over) is taken over and run again from since; one that keeps dying is failed', async () => {
    const orphan = await f.db.pool.query<{ id: string }>(
      `insert into webhooks.replay_requests (endpoint_id, since, status, claimed_by, lease_expires_at, claims, started_at)
       values ($1, $2, 'running', 'dead-dispatcher', now() - interval '1 second', 1, now() - interval '1 minute') returning id`,
      [ids.late, since],
    );
    const hopeless = await f.db.pool.query<{ id: string }>(
      `insert into webhooks.replay_requests (endpoint_id, since, status, claimed_by, lease_expires_at, claims)
       values ($1, $2, 'running', 'dead-dispatcher', now() - interval '1 second', 3) returning id`,
      [ids.late, since],
    );
    await f.service.replays.poll();
    const r = await ended(orphan.rows[0]!.id, 'the orphaned replay to be taken over and end');
    assert.equal(r.status, 'done', r.error ?? '');
    assert.equal(r.claims, 2);
    assert.equal(r.skipped_succeeded, 3, 'run again from since: what succeeded is skipped');
    const h = await row(hopeless.rows[0]!.id);
    assert.equal(h.status, 'failed');
    assert.match(h.error ?? '', /given up after 3 claims/);
  });

  test('cancel_replay stops a running replay; what it queued before is kept in the row', async () => {
    // 100 more events missed by "many", at 10 deliveries a second: about 10 s of replay to cancel in.
    await f.kafka.produce(
      f.input,
      Array.from({ length: 100 }, (_, i) => ({ value: callEnded(100 + i), headers: { 'event-id': `evt-m${i}` }, partition: 0 })),
    );
    await f.receiver.waitFor((r) => r.filter((x) => x.path === '/always').length === 104, 30_000, 'the 100 events, live');
    const many = await addEndpoint('many');
    const id = await requestReplay(many, since);
    const during = await waitFor(
      async () => {
        const r = await row(id);
        return r.status === 'running' && Number(r.queued) > 0 ? r : null;
      },
      { what: 'progress of the running replay in its row', intervalMs: 20, timeoutMs: 30_000 },
    );
    assert.ok(Number(during.queued) < 103, `progress written mid-way (${during.queued} queued)`);
    const { rows } = await f.db.pool.query<{ status: string }>('select webhooks.cancel_replay($1) as status', [id]);
    assert.equal(rows[0]!.status, 'cancelled');
    await waitFor(() => f.service.replays.runningId === null, { what: 'the run to stop', timeoutMs: 30_000 });
    const r = await row(id);
    assert.equal(r.status, 'cancelled');
    assert.ok(Number(r.queued) < 103, `stopped before the end (${r.queued} of 103 queued)`);
    const tasks = (await f.kafka.readAll(topicNames(loadConfig(f.env)).retry[0]!)).filter(
      (m) => headerString(m.headers, 'endpoint-id') === many,
    );
    assert.equal(tasks.length, r.queued, 'the row counts exactly the delivery tasks queued before the stop');
    const again = await f.db.pool.query<{ status: string }>('select webhooks.cancel_replay($1) as status', [id]);
    assert.equal(again.rows[0]!.status, 'cancelled', 'cancelling twice changes nothing');
  });

  test('dialer-webhooks replays lists, shows and cancels the SQL replays', async () => {
    const cli = async (...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
      let stdout = '';
      let stderr = '';
      const code = await main(args, f.env, { write: (t: string) => (stdout += t) }, { write: (t: string) => (stderr += t) });
      return { code, stdout, stderr };
    };
    const list = await cli('replays', 'list', '--endpoint', 'late', '--json');
    assert.equal(list.code, 0, list.stderr);
    const rows = JSON.parse(list.stdout) as Array<{ id: string; status: string; queued: number; endpoint_name: string }>;
    assert.ok(rows.length >= 3, 'the replays to late');
    assert.ok(rows.every((r) => r.endpoint_name === 'late'));
    const first = rows.at(-1)!;
    assert.deepEqual([first.status, first.queued], ['done', 3], 'the oldest: the first replay to late');
    const show = await cli('replays', 'show', first.id);
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, new RegExp(`^Replay ${first.id} to late: done\n`));
    assert.match(show.stdout, /\n {2}queued: +3\n/);
    assert.match(show.stdout, /\n {2}progress: +100% of the offsets/);
    const table = await cli('replays', 'list');
    assert.match(table.stdout, /^ID +ENDPOINT +STATUS +SINCE +QUEUED/);
    const cancel = await cli('replays', 'cancel', first.id);
    assert.equal(cancel.code, 0, cancel.stderr);
    assert.match(cancel.stdout, /had already ended: done/);
    const unknown = await cli('replays', 'cancel', '00000000-0000-4000-8000-000000000000');
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no replay with id/);
    assert.equal((await cli('replays', 'show', 'nope')).code, 2);
  });
});
