import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decideRetry, retryTiers, tierLabel } from '../../src/retry/retry-schedule.ts';
import { badTaskReason, decodeTask, encodeTask, taskDueAt, type DeliveryTask } from '../../src/retry/retry-message.ts';

const tiers = retryTiers([5000, 30_000, 120_000]);
const t0 = 1_700_000_000_000;

test('the spec schedule: retries after 5 s, 30 s and 120 s, then dead', () => {
  assert.deepEqual(
    tiers.map((t) => t.label),
    ['5s', '30s', '120s'],
  );
  let now = t0;
  const dues: number[] = [];
  for (let attempt = 1; attempt <= 3; attempt++) {
    const d = decideRetry(tiers, attempt, now);
    assert.equal(d.kind, 'retry');
    if (d.kind !== 'retry') return;
    assert.equal(d.nextAttempt, attempt + 1);
    dues.push(d.dueAtMs - now);
    now = d.dueAtMs; // the retry fires exactly when due and fails again
  }
  assert.deepEqual(dues, [5000, 30_000, 120_000]);
  const last = decideRetry(tiers, 4, now);
  assert.equal(last.kind, 'dead');
});

test('410 Gone is dead at once', () => {
  assert.deepEqual(decideRetry(tiers, 1, t0, { permanent: true }).kind, 'dead');
});

test('an attempt refused before sending (blocked, insecure_url) is dead at once, on any attempt', () => {
  for (const attempt of [1, 2, 3]) {
    assert.deepEqual(decideRetry(tiers, attempt, t0, { retryable: false }), {
      kind: 'dead',
      reason: 'refused before sending (not retried)',
    });
  }
  assert.equal(decideRetry(tiers, 1, t0, { retryable: true }).kind, 'retry');
});

test('Retry-After moves the retry to the first tier long enough, never earlier than asked', () => {
  const d = decideRetry(tiers, 1, t0, { retryAfterMs: 20_000 });
  assert.equal(d.kind === 'retry' && d.tier.label, '30s');
  assert.equal(d.kind === 'retry' && d.dueAtMs, t0 + 30_000);
  const small = decideRetry(tiers, 2, t0, { retryAfterMs: 1000 });
  assert.equal(small.kind === 'retry' && small.tier.label, '30s', 'a shorter Retry-After keeps the schedule');
  const huge = decideRetry(tiers, 1, t0, { retryAfterMs: 3_600_000 });
  assert.equal(huge.kind === 'retry' && huge.tier.label, '120s', 'capped at the longest tier');
});

test('tier labels name the delay', () => {
  assert.equal(tierLabel(250), '250ms');
  assert.equal(tierLabel(5000), '5s');
  assert.equal(tierLabel(120_000), '120s');
  assert.equal(tierLabel(600_000), '10m');
  assert.equal(tierLabel(3_600_000), '1h');
});

test('a delivery task survives the trip through a delay topic, body untouched and unsigned', () => {
  const task = {
    deliveryId: '0b9f6c8e-2c1d-5a4e-9f3b-7d2e1a6c4b8f',
    endpointId: '6f1c1f3e-8d4b-4b7a-9a3e-2f55c0d7b1a4',
    eventId: 'topic/0/5',
    eventType: 'call.ended',
    eventTimestampMs: t0,
    series: 1,
    attempt: 2,
    firstAttemptAtMs: t0 + 1,
    dueAtMs: t0 + 5001,
    delayMs: 5000,
    body: Buffer.from('{"event":"call.ended"}'),
  };
  const msg = encodeTask(task);
  assert.equal(msg.value, task.body);
  assert.ok(!Object.keys(msg.headers).some((h) => h.includes('signature')), 'no signature travels with the task');
  const headers = Object.fromEntries(Object.entries(msg.headers).map(([k, v]) => [k, Buffer.from(String(v))]));
  assert.deepEqual(decodeTask(msg.value, headers), task);
  assert.equal(taskDueAt(headers), t0 + 5001);
  assert.equal(decodeTask(msg.value, {}), null);
  assert.equal(decodeTask(null, headers), null);
  // The producer's trace context rides along as the W3C headers themselves.
  const trace = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', parentSpanId: '00f067aa0ba902b7', flags: '01', tracestate: 'a=1' };
  const traced = encodeTask({ ...task, trace });
  assert.equal(traced.headers.traceparent, '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
  assert.deepEqual(decodeTask(traced.value, traced.headers), { ...task, trace });
});

test('a task whose ids are not UUIDs or whose counts are out of range does not decode', () => {
  const base = encodeTask({
    deliveryId: '0b9f6c8e-2c1d-5a4e-9f3b-7d2e1a6c4b8f',
    endpointId: '6f1c1f3e-8d4b-4b7a-9a3e-2f55c0d7b1a4',
    eventId: 'e',
    eventType: 'call.ended',
    eventTimestampMs: 1,
    series: 1,
    attempt: 2,
    firstAttemptAtMs: 1,
    dueAtMs: 1,
    delayMs: 5,
    body: Buffer.from('{}'),
  });
  assert.notEqual(decodeTask(base.value, base.headers), null);
  for (const [name, value] of [
    ['endpoint-id', 'not-a-uuid'],
    ['delivery-id', 'x'],
    ['attempt', '0'],
    ['series', '99999999999'],
    ['due-at', '1e300'],
  ] as const) {
    assert.equal(decodeTask(base.value, { ...base.headers, [name]: value }), null, name);
  }
});

test('badTaskReason names the header that makes a delay-topic message unusable', () => {
  assert.equal(badTaskReason(Buffer.from('{}'), { 'endpoint-id': 'x' }), 'delivery-id is not a UUID');
  assert.equal(badTaskReason(null, {}), 'the value is null');
});

const compactBase = {
  deliveryId: '0b9f6c8e-2c1d-5a4e-9f3b-7d2e1a6c4b8f',
  endpointId: '6f1c1f3e-8d4b-4b7a-9a3e-2f55c0d7b1a4',
  eventId: 'evt "1", \\ ünïcode',
  eventType: 'call.ended',
  eventTimestampMs: t0,
  series: 2,
  attempt: 3,
  firstAttemptAtMs: t0 + 1,
  dueAtMs: t0 + 30_001,
  delayMs: 30_000,
  body: Buffer.from('{"event":"call.ended"}'),
};
const asBuffers = (headers: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, Buffer.from(String(v))]));

test('the compact format carries the task in one header, read back the same as the ten headers', () => {
  const trace = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', parentSpanId: '00f067aa0ba902b7', flags: '01', tracestate: 'a=1' };
  const tasks: DeliveryTask[] = [compactBase, { ...compactBase, ordered: true, trace }];
  for (const task of tasks) {
    const msg = encodeTask(task, { throttled: '1' }, 'compact');
    assert.equal(msg.value, task.body);
    assert.equal(msg.key, task.deliveryId);
    const names = Object.keys(msg.headers);
    assert.deepEqual(names, task.trace ? ['task', 'traceparent', 'tracestate', 'throttled'] : ['task', 'throttled']);
    const headers = asBuffers(msg.headers);
    assert.deepEqual(decodeTask(msg.value, headers), task);
    assert.equal(taskDueAt(headers), task.dueAtMs);
    // The same task in the older format decodes to the same.
    const old = encodeTask(task, { throttled: '1' });
    assert.deepEqual(decodeTask(old.value, asBuffers(old.headers)), decodeTask(msg.value, headers));
  }
});

test('a compact header that is not a task of its version does not decode, and says why', () => {
  const good = JSON.parse(String(encodeTask(compactBase, {}, 'compact').headers.task)) as unknown[];
  const body = Buffer.from('{}');
  const bad: Array<[string, string]> = [
    ['not JSON', '[2,1,'],
    ['not an array', '{"a":1}'],
    ['another version', JSON.stringify([3, ...good.slice(1)])],
    ['too short', JSON.stringify(good.slice(0, 11))],
    ['ordered neither 0 nor 1', JSON.stringify([...good.slice(0, 11), 'yes'])],
  ];
  for (const [what, text] of bad) {
    assert.equal(decodeTask(body, { task: text }), null, what);
    assert.equal(badTaskReason(body, { task: text }), 'the task header is not a task of version 2', what);
  }
  // Fields of the wrong type or out of range are refused as in the ten headers, naming the field.
  const withField = (i: number, v: unknown): string => JSON.stringify(good.map((x, j) => (j === i ? v : x)));
  for (const [i, v, reason] of [
    [2, 'x', 'delivery-id is not a UUID'],
    [3, 7, 'endpoint-id is not a UUID'],
    [5, '', 'event-type is missing'],
    [8, '3', 'attempt is not a positive 32-bit integer'],
    [8, 0, 'attempt is not a positive 32-bit integer'],
    [1, 1e300, 'due-at is not a time'],
    [10, -1, 'delay-ms is out of range'],
  ] as const) {
    assert.equal(decodeTask(body, { task: withField(i, v) }), null, reason);
    assert.equal(badTaskReason(body, { task: withField(i, v) }), reason);
  }
  // A due time the delay consumer cannot read is due now (0); the handler then refuses the task.
  assert.equal(taskDueAt({ task: '[2,x,' }), 0);
  assert.equal(taskDueAt({ task: '[3,5,' }), 0);
  assert.equal(taskDueAt({ task: 'nonsense' }), 0);
});
