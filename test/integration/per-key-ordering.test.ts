import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { ReceivedRequest } from '../support/receiver.ts';
import { openDispatcherFixture, type DispatcherFixture } from '../support/service.ts';
import { waitFor } from '../support/wait-for.ts';

const SECRET = 'whsec_' + Buffer.alloc(32, 12).toString('base64');
// Long enough that a head's success comes well after the other key's events and the commit.
const DELAYS = [2500, 2500, 2500];

let fixture: DispatcherFixture;

/** Fails call.started of the calls in `fail` (`n` times each, or always), answers 200 to the rest. */
function failStarted(fail: Record<string, number>) {
  const seen = new Map<string, number>();
  return (): { status: number } => {
    const last = fixture.receiver.requests.at(-1)!;
    const call = String(last.json.data.call_id);
    if (last.json.event !== 'call.started' || !(call in fail)) return { status: 200 };
    const n = (seen.get(call) ?? 0) + 1;
    seen.set(call, n);
    return { status: n <= fail[call]! ? 500 : 200 };
  };
}

function event(type: 'call.started' | 'call.ended', call: string): string {
  const data = { call_id: call, agent: 'a', phone_number: '5551234567', campaign: 'Q1', duration: 1, disposition: 'SALE' };
  if (type === 'call.started') Reflect.deleteProperty(data, 'duration');
  if (type === 'call.started') Reflect.deleteProperty(data, 'disposition');
  return JSON.stringify({ event: type, timestamp: new Date().toISOString(), data });
}

/** The first 2xx-answered request of each (event, call) at `path`, in arrival order, as `event/call`. */
function successes(path: string): string[] {
  const out: string[] = [];
  for (const r of fixture.receiver.to(path)) {
    const name = `${r.json.event}/${String(r.json.data.call_id)}`;
    if (!out.includes(name) && answeredOk(r)) out.push(name);
  }
  return out;
}

const answers = new Map<ReceivedRequest, number>();
const answeredOk = (r: ReceivedRequest): boolean => answers.get(r) === 200;

before(async () => {
  // One behaviour per endpoint: each counts its own failures.
  const recording = (): (() => { status: number }) => {
    const behaviour = failStarted({ A: 2, D: 99 });
    return () => {
      const out = behaviour();
      answers.set(fixture.receiver.requests.at(-1)!, out.status);
      return out;
    };
  };
  fixture = await openDispatcherFixture('perkey', {
    secret: SECRET,
    endpoints: [
      ['ordered', recording()],
      ['unordered', recording()],
    ],
    eventTypes: ['call.started', 'call.ended'],
    env: { RETRY_DELAYS: DELAYS.map((d) => `${d}ms`).join(',') },
  });
  await fixture.db.db.updateTable('webhooks.endpoints').set({ ordering: 'per_key' }).where('name', '=', 'ordered').execute();
  await waitFor(() => fixture.service.endpoints.current().ordered === 1, { what: 'the per_key endpoint in the index' });
});

after(() => fixture?.close());

test('with per_key, call.ended waits for its call.started to succeed while another call flows on and the offset is committed past it', async () => {
  const { kafka, input, service, db } = fixture;
  await kafka.produce(input, [
    { key: 'call-A', value: event('call.started', 'A'), partition: 0 },
    { key: 'call-A', value: event('call.ended', 'A'), partition: 0 },
    { key: 'call-B', value: event('call.started', 'B'), partition: 0 },
    { key: 'call-B', value: event('call.ended', 'B'), partition: 0 },
  ]);

  // The parked call.ended of A does not hold the partition: all four offsets are committed while
  // it is still parked, before call.started of A has succeeded.
  await waitFor(
    async () => {
      const parked = await db.db.selectFrom('webhooks.ordered_deliveries').select('state').where('state', '=', 'parked').execute();
      const committed = await kafka.committedTotal(service.config.kafka.groupId, input);
      assert.ok(!successes('/ordered').includes('call.started/A'), 'committed before the head succeeded');
      return parked.length === 1 && committed >= 4;
    },
    { timeoutMs: 20_000, what: 'four offsets committed with call.ended of A parked' },
  );

  await waitFor(() => successes('/ordered').length === 4 && successes('/unordered').length === 4, {
    timeoutMs: 60_000,
    what: 'every event delivered to both endpoints',
  });
  const ordered = successes('/ordered');
  assert.ok(ordered.indexOf('call.started/A') < ordered.indexOf('call.ended/A'), `A in offset order at the per_key endpoint: ${ordered}`);
  assert.ok(ordered.indexOf('call.ended/B') < ordered.indexOf('call.started/A'), `B not held behind A's retries: ${ordered}`);
  assert.equal(fixture.receiver.to('/ordered').filter((r) => r.json.event === 'call.started' && r.json.data.call_id === 'A').length, 3);
  assert.equal(fixture.receiver.to('/ordered').filter((r) => r.json.event === 'call.ended' && r.json.data.call_id === 'A').length, 1);

  // Without per_key nothing waits: call.ended of A arrives before its call.started succeeds.
  const unordered = successes('/unordered');
  assert.ok(unordered.indexOf('call.ended/A') < unordered.indexOf('call.started/A'), `no ordering without per_key: ${unordered}`);

  await waitFor(async () => (await db.db.selectFrom('webhooks.ordered_deliveries').selectAll().execute()).length === 0, {
    what: 'the key queues empty once everything settled',
  });
  const metric = async (m: { get(): Promise<{ values: Array<{ value: number }> }> }): Promise<number> => (await m.get()).values[0]!.value;
  // call.ended of B may park too, behind its call.started's first attempt in flight.
  const parked = await metric(service.metrics.deliveriesParked);
  assert.ok(parked >= 1, 'call.ended of A was parked');
  assert.equal(await metric(service.metrics.deliveriesReleased), parked, 'every parked delivery was released');
});

test('a head that dies releases the next delivery of its key', async () => {
  const { kafka, input, db } = fixture;
  await kafka.produce(input, [
    { key: 'call-D', value: event('call.started', 'D'), partition: 1 },
    { key: 'call-D', value: event('call.ended', 'D'), partition: 1 },
  ]);
  await waitFor(() => successes('/ordered').includes('call.ended/D'), { timeoutMs: 60_000, what: 'call.ended of D delivered' });
  const started = fixture.receiver.to('/ordered').filter((r) => r.json.event === 'call.started' && r.json.data.call_id === 'D');
  const ended = fixture.receiver.to('/ordered').find((r) => r.json.event === 'call.ended' && r.json.data.call_id === 'D')!;
  assert.equal(started.length, DELAYS.length + 1, 'the head made all its attempts');
  assert.ok(ended.at >= started.at(-1)!.at, 'released only after the last attempt of the dead head');
  const states = async (): Promise<string> => {
    const rows = await db.db
      .selectFrom('webhooks.deliveries as d')
      .innerJoin('webhooks.endpoints as e', 'e.id', 'd.endpoint_id')
      .select(['d.event_type', 'd.status'])
      .where('e.name', '=', 'ordered')
      .where('d.event_id', 'like', `${input}/1/%`)
      .orderBy('d.event_type')
      .execute();
    return rows.map((r) => `${r.event_type}:${r.status}`).join(' ');
  };
  await waitFor(async () => (await states()) === 'call.ended:succeeded call.started:dead', { what: 'the log: head dead, next succeeded' });
});
