import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FAULTS, faultPlan } from '../chaos/faults.ts';
import { checkRound, violations, type RoundEvidence } from '../chaos/invariants.ts';
import { Prng } from '../chaos/prng.ts';
import type { Reception } from '../chaos/receivers.ts';

const rec = (eventId: string, endpoint: string, webhookId: string, at: number, status: number | null): Reception => ({
  eventId,
  endpoint,
  webhookId,
  at,
  status,
});

function evidence(overrides: Partial<RoundEvidence> = {}): RoundEvidence {
  return {
    eventIds: ['e1', 'e2'],
    endpoints: ['healthy', 'hang'],
    receptions: [
      rec('e1', 'healthy', 'd1', 1000, 200),
      rec('e2', 'healthy', 'd2', 1000, 200),
      rec('e1', 'hang', 'd3', 1000, null),
      rec('e2', 'hang', 'd4', 1000, null),
    ],
    deliveries: [
      { id: 'd1', eventId: 'e1', endpoint: 'healthy', status: 'succeeded' },
      { id: 'd2', eventId: 'e2', endpoint: 'healthy', status: 'succeeded' },
      { id: 'd3', eventId: 'e1', endpoint: 'hang', status: 'dead' },
      { id: 'd4', eventId: 'e2', endpoint: 'hang', status: 'dead' },
    ],
    successRecordedAt: new Map([
      ['d1', 1001],
      ['d2', 1001],
    ]),
    ...overrides,
  };
}

test('a round where every pair succeeded or went dead passes', () => {
  const v = checkRound(evidence());
  assert.equal(v.pairs, 4);
  assert.equal(v.succeeded, 2);
  assert.equal(v.dead, 2);
  assert.deepEqual(violations(v, true), []);
});

test('a pair without a delivery row is lost', () => {
  const e = evidence();
  const v = checkRound({ ...e, deliveries: e.deliveries.filter((d) => d.id !== 'd2') });
  assert.deepEqual(v.lost, ['e2 → healthy']);
  assert.match(violations(v, true)[0]!, /1 pairs lost/);
});

test('a pair still retrying is not final', () => {
  const e = evidence();
  const v = checkRound({ ...e, deliveries: e.deliveries.map((d) => (d.id === 'd4' ? { ...d, status: 'retrying' } : d)) });
  assert.deepEqual(v.notFinal, ['e2 → hang (retrying)']);
  assert.equal(violations(v, true).length, 1);
});

test('a request received after the success was recorded fails the round; one before it is a counted duplicate', () => {
  const e = evidence();
  const before = checkRound({ ...e, receptions: [...e.receptions, rec('e1', 'healthy', 'd1', 1001, 200)] });
  assert.equal(before.duplicates, 1);
  assert.deepEqual(violations(before, true), []);
  const after = checkRound({ ...e, receptions: [...e.receptions, rec('e1', 'healthy', 'd1', 1002, 200)] });
  assert.equal(after.resentAfterSuccess.length, 1);
  assert.match(violations(after, true)[0]!, /after a recorded success/);
});

test('a success recorded without any 2xx answer fails the round', () => {
  const e = evidence();
  const v = checkRound({ ...e, receptions: e.receptions.filter((r) => r.webhookId !== 'd1') });
  assert.deepEqual(v.successWithout2xx, ['e1 → healthy']);
  assert.equal(violations(v, true).length, 1);
});

test('lag left on a group fails the round', () => {
  assert.match(violations(checkRound(evidence()), false)[0]!, /lag > 0/);
});

test('the same seed gives the same fault plan, and each cycle has every fault once', () => {
  const a = faultPlan(new Prng(42), 20);
  assert.deepEqual(a, faultPlan(new Prng(42), 20));
  assert.notDeepEqual(a, faultPlan(new Prng(43), 20));
  assert.deepEqual([...a.slice(0, FAULTS.length)].sort(), [...FAULTS].sort());
});

test('the generator stays within its bounds', () => {
  const rng = new Prng(1);
  for (let i = 0; i < 1000; i++) {
    const n = rng.int(3, 8);
    assert.ok(n >= 3 && n <= 8 && Number.isInteger(n));
  }
});

test('a per-key endpoint that received a later event of a key before the earlier one settled fails the round', () => {
  const e = evidence({ endpoints: ['healthy'], eventIds: ['e1', 'e2'] });
  const eventKeys = new Map([
    ['e1', 'call-1'],
    ['e2', 'call-1'],
  ]);
  const receptions = [rec('e1', 'healthy', 'd1', 1000, 503), rec('e2', 'healthy', 'd2', 1000, 200), rec('e1', 'healthy', 'd1', 1001, 200)];
  const deliveries = e.deliveries.filter((d) => d.endpoint === 'healthy');
  const unordered = checkRound({ ...e, receptions, deliveries });
  assert.deepEqual(violations(unordered, true), [], 'without per_key the order is not checked');
  const v = checkRound({ ...e, receptions, deliveries, orderedEndpoints: ['healthy'], eventKeys });
  assert.equal(v.outOfOrder.length, 1);
  assert.match(violations(v, true)[0]!, /1 per-key requests out of order, e\.g\. e2 → healthy before e1 \(key call-1\)/);
});
