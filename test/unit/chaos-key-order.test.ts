import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkKeyOrder } from '../chaos/key-order-check.ts';
import { orderedAnswer, type Reception } from '../chaos/receivers.ts';

const rec = (eventId: string, status: number | null, endpoint = 'ordered'): Reception => ({
  eventId,
  endpoint,
  webhookId: `d-${eventId}`,
  at: 1000,
  status,
});

// Three events of key k in offset order, each refused once then accepted.
const keys = new Map([
  ['e1', 'k'],
  ['e2', 'k'],
  ['e3', 'k'],
]);
const allSucceeded = new Map([
  ['e1', 'succeeded'],
  ['e2', 'succeeded'],
  ['e3', 'succeeded'],
]);

test('events of a key sent one after another, each after the one before settled, are in order', () => {
  const receptions = [rec('e1', 503), rec('e1', 200), rec('e2', 503), rec('e2', 200), rec('e3', 200)];
  assert.deepEqual(checkKeyOrder({ endpoint: 'ordered', eventKeys: keys, receptions, outcomes: allSucceeded }), []);
});

test('a later event sent while the earlier one is still retrying is out of order, though both end succeeded', () => {
  const receptions = [rec('e1', 503), rec('e2', 200), rec('e1', 200), rec('e3', 200)];
  const breaches = checkKeyOrder({ endpoint: 'ordered', eventKeys: keys, receptions, outcomes: allSucceeded });
  assert.deepEqual(breaches, [{ endpoint: 'ordered', key: 'k', earlier: 'e1', later: 'e2' }]);
});

test('an event may follow a dead head only after the head’s last attempt', () => {
  const outcomes = new Map([...allSucceeded, ['e1', 'dead']]);
  const inOrder = [rec('e1', 503), rec('e1', 503), rec('e2', 200), rec('e3', 200)];
  assert.deepEqual(checkKeyOrder({ endpoint: 'ordered', eventKeys: keys, receptions: inOrder, outcomes }), []);
  const early = [rec('e1', 503), rec('e2', 200), rec('e1', 503), rec('e3', 200)];
  assert.deepEqual(checkKeyOrder({ endpoint: 'ordered', eventKeys: keys, receptions: early, outcomes }), [
    { endpoint: 'ordered', key: 'k', earlier: 'e1', later: 'e2' },
  ]);
});

test('a copy of an earlier event sent again after its first 2xx is outside the order', () => {
  const receptions = [rec('e1', 200), rec('e2', 200), rec('e1', 200), rec('e3', 200)];
  assert.deepEqual(checkKeyOrder({ endpoint: 'ordered', eventKeys: keys, receptions, outcomes: allSucceeded }), []);
});

test('the order is checked against every earlier event of the key, not only the one just before', () => {
  // e2 went dead without any request reaching the endpoint; e3 still had to wait for e1.
  const outcomes = new Map([...allSucceeded, ['e2', 'dead']]);
  const receptions = [rec('e1', 503), rec('e3', 200), rec('e1', 200)];
  assert.deepEqual(checkKeyOrder({ endpoint: 'ordered', eventKeys: keys, receptions, outcomes }), [
    { endpoint: 'ordered', key: 'k', earlier: 'e1', later: 'e3' },
  ]);
});

test('other keys and other endpoints do not constrain a key', () => {
  const eventKeys = new Map([
    ['e1', 'k'],
    ['x1', 'other'],
    ['e2', 'k'],
  ]);
  const outcomes = new Map([
    ['e1', 'succeeded'],
    ['x1', 'succeeded'],
    ['e2', 'succeeded'],
  ]);
  const receptions = [rec('e1', 503), rec('x1', 200), rec('e2', 503, 'healthy'), rec('e1', 200), rec('e2', 200)];
  assert.deepEqual(checkKeyOrder({ endpoint: 'ordered', eventKeys, receptions, outcomes }), []);
});

test('the ordered endpoint refuses each first attempt, and every attempt of events numbered …5', () => {
  assert.equal(orderedAnswer('r1-3', 1), 503);
  assert.equal(orderedAnswer('r1-3', 2), 200);
  assert.equal(orderedAnswer('r1-15', 5), 503);
});
