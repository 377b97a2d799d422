import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { main } from '../../src/cli/main.ts';
import { loadConfig } from '../../src/config.ts';
import { deliveryId } from '../../src/delivery/delivery-id.ts';
import { headerString } from '../../src/retry/retry-message.ts';
import { topicNames } from '../../src/topics/service-topics.ts';
import { openDispatcherFixture, type DispatcherFixture } from '../support/service.ts';
import { waitFor } from '../support/wait-for.ts';

const SECRET = 'whsec_' + Buffer.alloc(32, 7).toString('base64');

function event(type: 'call.ended' | 'call.started', n: number): string {
  const data =
    type === 'call.ended'
      ? { call_id: `c${n}`, agent: 'jsmith', phone_number: '5551234567', duration: 180, disposition: 'SALE', campaign: 'Q1-Sales' }
      : { call_id: `c${n}`, agent: 'jsmith', phone_number: '5551234567', campaign: 'Q1-Sales' };
  return JSON.stringify({ event: type, timestamp: new Date().toISOString(), data });
}

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

describe('replay from Kafka since a time', () => {
  let f: DispatcherFixture;
  let since: Date;
  let lateId: string;
  let retryTopic: string;

  async function cli(...args: string[]): Promise<CliRun> {
    let stdout = '';
    let stderr = '';
    const code = await main(args, f.env, { write: (t: string) => (stdout += t) }, { write: (t: string) => (stderr += t) });
    return { code, stdout, stderr };
  }

  async function addEndpoint(name: string): Promise<string> {
    const row = await f.db.db
      .insertInto('webhooks.endpoints')
      .values({ name, url: f.receiver.route(`/${name}`, SECRET), secret: SECRET, event_types: ['call.ended'] })
      .returning('id')
      .executeTakeFirstOrThrow();
    await waitFor(() => f.service.endpoints.get(row.id), { what: `endpoint ${name} in the dispatcher's index` });
    return row.id;
  }

  async function succeeded(endpointId: string): Promise<string[]> {
    const { rows } = await f.db.pool.query<{ event_id: string }>(
      `select event_id from webhooks.deliveries where endpoint_id = $1 and status = 'succeeded' order by event_id`,
      [endpointId],
    );
    return rows.map((r) => r.event_id);
  }

  /** Delivery tasks on the first delay topic meant for `endpointId`. */
  async function tasksFor(endpointId: string): Promise<number> {
    const all = await f.kafka.readAll(retryTopic);
    return all.filter((m) => headerString(m.headers, 'endpoint-id') === endpointId).length;
  }

  before(async () => {
    f = await openDispatcherFixture('replay', {
      secret: SECRET,
      endpoints: [['always', 200]],
      env: { RETRY_DELAYS: '200ms,300ms' },
    });
    retryTopic = topicNames(loadConfig(f.env)).retry[0]!;
    // Everything on partition 0, so offsets (and the retention case) are known exactly.
    await f.kafka.produce(f.input, [{ value: event('call.ended', 0), headers: { 'event-id': 'evt-0' }, partition: 0 }]);
    await f.receiver.waitFor((r) => r.filter((x) => x.path === '/always').length === 1, 30_000, 'the event before since');
    const before = Date.now();
    await waitFor(() => Date.now() > before, { what: 'the clock to move on', intervalMs: 1 });
    since = new Date();
    // Missed by "late", which does not exist yet: three call.ended and a call.started it does not take.
    await f.kafka.produce(f.input, [
      ...[1, 2, 3].map((n) => ({ value: event('call.ended', n), headers: { 'event-id': `evt-${n}` }, partition: 0 })),
      { value: event('call.started', 9), headers: { 'event-id': 'evt-started' }, partition: 0 },
    ]);
    await f.receiver.waitFor((r) => r.filter((x) => x.path === '/always').length === 4, 30_000, 'the missed events, live');
    lateId = await addEndpoint('late');
    // Received live by "late" too (no event-id header: the position is the id).
    await f.kafka.produce(
      f.input,
      [4, 5].map((n) => ({ value: event('call.ended', n), partition: 0 })),
    );
    await waitFor(async () => ((await succeeded(lateId)).length === 2 ? true : null), {
      what: 'the two live deliveries to late',
      timeoutMs: 30_000,
    });
  });

  after(async () => {
    await f?.close();
  });

  test('a replay since T delivers exactly the missed events, once each, with the live delivery ids, and shows progress', async () => {
    const run = await cli('replay', '--endpoint', 'late', '--since', since.toISOString(), '--json');
    assert.equal(run.code, 0, run.stderr);
    const summary = JSON.parse(run.stdout);
    assert.equal(summary.scanned, 6, 'offsets 1 to 6: the event before since is not read');
    assert.equal(summary.matched, 5, 'the call.started is not in the subscription');
    assert.equal(summary.delivered, 3);
    assert.equal(summary.already_succeeded, 2);
    assert.equal(summary.dry_run, false);
    assert.match(run.stderr, /Replaying events since/);
    assert.match(run.stderr, /scanned 6 · deliveries 3 · \d+ events\/s · 100% · ETA 0 ms/);

    await waitFor(async () => ((await succeeded(lateId)).length === 5 ? true : null), {
      what: 'the replayed deliveries to succeed',
      timeoutMs: 30_000,
    });
    const requests = f.receiver.to('/late');
    const replayed = requests.filter((r) => r.headers['x-webhook-attempt'] === '1').map((r) => String(r.headers['webhook-id']));
    assert.equal(requests.length, 5, 'two live and three replayed, none twice');
    assert.equal(new Set(replayed).size, 5);
    for (const n of [1, 2, 3]) assert.ok(replayed.includes(deliveryId(`evt-${n}`, lateId)), `evt-${n} under its live delivery id`);
    assert.deepEqual(
      requests.filter((r) => r.json.event !== 'call.ended'),
      [],
    );
    assert.ok(
      requests.every((r) => r.specSignatureValid && r.standardSignatureValid),
      'signed with the endpoint secret',
    );
    assert.equal(await tasksFor(lateId), 3);
  });

  test('a second replay sends nothing', async () => {
    const run = await cli('replay', '--endpoint', 'late', '--since', since.toISOString(), '--json');
    assert.equal(run.code, 0, run.stderr);
    const summary = JSON.parse(run.stdout);
    assert.equal(summary.delivered, 0);
    assert.equal(summary.already_succeeded, 5);
    assert.equal(await tasksFor(lateId), 3, 'no new delivery task');
  });

  test('a dry run counts what a replay would deliver and queues nothing', async () => {
    const freshId = await addEndpoint('fresh');
    const run = await cli('replay', '--endpoint', 'fresh', '--since', since.toISOString(), '--dry-run');
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /Dry run of a replay to fresh/);
    assert.match(run.stdout, /would deliver: +5\n/);
    assert.match(run.stdout, /scanned: +6\n/);
    assert.match(run.stderr, /would deliver 5/);
    assert.equal(await tasksFor(freshId), 0);
    const { rows } = await f.db.pool.query('select 1 from webhooks.deliveries where endpoint_id = $1', [freshId]);
    assert.equal(rows.length, 0);
  });

  test("the endpoint's payload filter is applied and counted as filtered out", async () => {
    const narrow = await f.db.db
      .insertInto('webhooks.endpoints')
      .values({
        name: 'narrow',
        url: f.receiver.route('/narrow', SECRET),
        secret: SECRET,
        event_types: ['call.ended'],
        filter: JSON.stringify({ 'data.call_id': { $in: ['c2', 'c4'] } }),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const run = await cli('replay', '--endpoint', 'narrow', '--since', since.toISOString(), '--dry-run', '--json');
    assert.equal(run.code, 0, run.stderr);
    const summary = JSON.parse(run.stdout);
    assert.deepEqual([summary.scanned, summary.matched, summary.filtered, summary.delivered], [6, 2, 3, 2]);
    const text = await cli('replay', '--endpoint', narrow.id, '--since', since.toISOString(), '--dry-run');
    assert.match(text.stdout, /filtered out: +3\n/);
  });

  test('--until stops at that time and --types narrows the replay', async () => {
    const run = await cli(
      'replay',
      '--endpoint',
      'always',
      '--since',
      '2020-01-01',
      '--until',
      since.toISOString(),
      '--types',
      'call.ended',
      '--json',
      '--dry-run',
    );
    assert.equal(run.code, 0, run.stderr);
    const summary = JSON.parse(run.stdout);
    assert.equal(summary.scanned, 1, 'only the event before since');
    assert.equal(summary.already_succeeded, 1);
  });

  test('a since older than the retention says so and names the earliest event still there', async () => {
    // kafkajs finds the partition leaders only for topics this admin has looked at (metadata).
    await f.kafka.admin.fetchTopicOffsets(f.input);
    await f.kafka.admin.deleteTopicRecords({ topic: f.input, partitions: [{ partition: 0, offset: '3' }] });
    const [kept] = await waitFor(
      async () => {
        const all = await f.kafka.readAll(f.input);
        return all.length === 4 ? all : null;
      },
      { what: 'records before offset 3 deleted' },
    );
    const run = await cli('replay', '--endpoint', 'fresh', '--since', since.toISOString(), '--dry-run', '--json');
    assert.equal(run.code, 0, run.stderr);
    const summary = JSON.parse(run.stdout);
    assert.equal(summary.scanned, 4, 'offsets 3 to 6');
    assert.equal(summary.retention_gaps.length, 1);
    assert.equal(summary.retention_gaps[0].partition, 0);
    assert.ok(new Date(summary.retention_gaps[0].earliest_available).getTime() >= since.getTime());
    assert.match(run.stderr, /is older than the retention of .* partition 0: the earliest event still there is from /);
    assert.equal(kept!.offset, '3');
  });

  test('events missed while an endpoint was disabled, and deliveries that died, are delivered by a replay', async () => {
    let flakyHealthy = false;
    const flaky = await f.db.db
      .insertInto('webhooks.endpoints')
      .values({
        name: 'flaky',
        url: f.receiver.route('/flaky', SECRET, () => ({ status: flakyHealthy ? 200 : 500 })),
        secret: SECRET,
        event_types: ['call.ended'],
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const paused = await f.db.db
      .insertInto('webhooks.endpoints')
      .values({ name: 'paused', url: f.receiver.route('/paused', SECRET), secret: SECRET, event_types: ['call.ended'], enabled: false })
      .returning('id')
      .executeTakeFirstOrThrow();
    await waitFor(() => f.service.endpoints.get(flaky.id), { what: 'flaky in the index' });
    const sinceB = new Date();
    await f.kafka.produce(
      f.input,
      [1, 2].map((n) => ({ value: event('call.ended', 20 + n), headers: { 'event-id': `evt-b${n}` }, partition: 0 })),
    );
    await waitFor(
      async () => {
        const { rows } = await f.db.pool.query(`select 1 from webhooks.deliveries where endpoint_id = $1 and status = 'dead'`, [flaky.id]);
        return rows.length === 2 ? true : null;
      },
      { what: 'both deliveries to flaky dead', timeoutMs: 30_000 },
    );
    const { rows: none } = await f.db.pool.query('select 1 from webhooks.deliveries where endpoint_id = $1', [paused.id]);
    assert.equal(none.length, 0, 'a disabled endpoint gets nothing live');

    const refused = await cli('replay', '--endpoint', 'paused', '--since', sinceB.toISOString());
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /endpoint paused is disabled/);

    assert.equal((await cli('endpoints', 'enable', 'paused')).code, 0);
    flakyHealthy = true;
    const toPaused = JSON.parse((await cli('replay', '--endpoint', 'paused', '--since', sinceB.toISOString(), '--json')).stdout);
    assert.deepEqual([toPaused.scanned, toPaused.delivered, toPaused.resent], [2, 2, 0]);
    const toFlaky = JSON.parse((await cli('replay', '--endpoint', 'flaky', '--since', sinceB.toISOString(), '--json')).stdout);
    assert.deepEqual([toFlaky.delivered, toFlaky.resent], [2, 2]);

    await waitFor(
      async () => {
        const { rows } = await f.db.pool.query<{ endpoint_id: string; series: number }>(
          `select endpoint_id, series from webhooks.deliveries where endpoint_id = any($1::uuid[]) and status = 'succeeded'`,
          [[flaky.id, paused.id]],
        );
        return rows.length === 4 ? rows : null;
      },
      { what: 'the four replayed deliveries to succeed', timeoutMs: 30_000 },
    ).then((rows) => {
      assert.deepEqual(
        rows.filter((r) => r.endpoint_id === flaky.id).map((r) => r.series),
        [2, 2],
        'a new attempt series',
      );
      assert.deepEqual(
        rows.filter((r) => r.endpoint_id === paused.id).map((r) => r.series),
        [1, 1],
      );
    });
    assert.equal(f.receiver.to('/paused').length, 2);
    assert.equal(
      f.receiver.to('/flaky').filter((r) => r.headers['webhook-id'] === deliveryId('evt-b1', flaky.id)).length,
      4,
      'three failed attempts and the replayed one',
    );
  });
});
