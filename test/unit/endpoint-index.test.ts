import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { signingSecrets, type Endpoint } from '../../src/endpoints/endpoint.ts';
import { EndpointIndex } from '../../src/endpoints/endpoint-index.ts';

function endpoint(id: string, eventTypes: string[], overrides: Partial<Endpoint> = {}): Endpoint {
  return {
    id,
    name: `endpoint-${id}`,
    url: `https://example.com/${id}`,
    secret: `whsec_secret-of-${id}`,
    previousSecret: null,
    previousSecretExpiresAt: null,
    eventTypes,
    enabled: true,
    ...overrides,
  };
}

const ids = (list: readonly Endpoint[]): string[] => list.map((e) => e.id);

describe('EndpointIndex', () => {
  test('matches the endpoints subscribed to one type, in build order', () => {
    const index = new EndpointIndex([endpoint('a', ['call.ended']), endpoint('b', ['call.started']), endpoint('c', ['call.ended'])]);
    assert.deepEqual(ids(index.match('call.ended')), ['a', 'c']);
    assert.deepEqual(ids(index.match('call.started')), ['b']);
  });

  test('an endpoint subscribed to several types matches each of them', () => {
    const index = new EndpointIndex([endpoint('a', ['call.ended', 'agent.login', 'lead.updated']), endpoint('b', ['agent.login'])]);
    assert.deepEqual(ids(index.match('call.ended')), ['a']);
    assert.deepEqual(ids(index.match('agent.login')), ['a', 'b']);
    assert.deepEqual(ids(index.match('lead.updated')), ['a']);
  });

  test("'*' subscribers match every type, in build order among the others", () => {
    const index = new EndpointIndex([endpoint('a', ['call.ended']), endpoint('all', ['*']), endpoint('c', ['call.ended'])]);
    assert.deepEqual(ids(index.match('call.ended')), ['a', 'all', 'c']);
    assert.deepEqual(ids(index.match('agent.logout')), ['all']);
  });

  test('disabled endpoints are left out of matches, get() and size', () => {
    const index = new EndpointIndex([
      endpoint('a', ['call.ended']),
      endpoint('off', ['call.ended'], { enabled: false }),
      endpoint('off-all', ['*'], { enabled: false }),
    ]);
    assert.deepEqual(ids(index.match('call.ended')), ['a']);
    assert.deepEqual(ids(index.match('agent.login')), []);
    assert.equal(index.get('off'), undefined);
    assert.equal(index.size, 1);
  });

  test("a type no endpoint names gets only the '*' subscribers", () => {
    const index = new EndpointIndex([endpoint('a', ['call.ended']), endpoint('all', ['*'])]);
    assert.deepEqual(ids(index.match('recording.ready')), ['all']);
    assert.deepEqual(ids(index.match('no.such.type')), ['all']);
    assert.deepEqual(ids(new EndpointIndex([endpoint('a', ['call.ended'])]).match('no.such.type')), []);
  });

  test("an endpoint subscribed to a type and to '*' appears once", () => {
    const index = new EndpointIndex([endpoint('a', ['call.ended', '*', 'call.ended']), endpoint('b', ['call.ended'])]);
    assert.deepEqual(ids(index.match('call.ended')), ['a', 'b']);
    assert.deepEqual(ids(index.match('agent.login')), ['a']);
  });

  test('a repeated id is kept once, the first occurrence', () => {
    const first = endpoint('a', ['call.ended']);
    const index = new EndpointIndex([first, endpoint('a', ['call.ended'], { name: 'second' })]);
    assert.deepEqual(ids(index.match('call.ended')), ['a']);
    assert.equal(index.get('a'), first);
    assert.equal(index.size, 1);
  });

  test('match() returns the same precomputed array on every call, and it is frozen', () => {
    const index = new EndpointIndex([endpoint('a', ['call.ended']), endpoint('all', ['*'])]);
    assert.equal(index.match('call.ended'), index.match('call.ended'));
    assert.equal(index.match('unknown.one'), index.match('unknown.two'));
    assert.ok(Object.isFrozen(index.match('call.ended')));
    assert.ok(Object.isFrozen(index.match('unknown.one')));
  });

  test('get() finds enabled endpoints by id; size counts them', () => {
    const a = endpoint('a', ['call.ended']);
    const index = new EndpointIndex([a, endpoint('b', ['*'])]);
    assert.equal(index.get('a'), a);
    assert.equal(index.get('missing'), undefined);
    assert.equal(index.size, 2);
    assert.deepEqual(ids(index.endpoints), ['a', 'b']);
  });

  test('the empty index matches nothing', () => {
    assert.equal(EndpointIndex.empty.size, 0);
    assert.deepEqual(EndpointIndex.empty.match('call.ended'), []);
  });
});

describe('signingSecrets', () => {
  const now = Date.UTC(2025, 0, 1);

  test('signs with the current secret alone when there is no previous one', () => {
    assert.deepEqual(signingSecrets(endpoint('a', ['*'], { secret: 'whsec_new' }), now), ['whsec_new']);
  });

  test('adds the previous secret, second, while its overlap lasts', () => {
    const e = endpoint('a', ['*'], { secret: 'whsec_new', previousSecret: 'whsec_old', previousSecretExpiresAt: now + 1 });
    assert.deepEqual(signingSecrets(e, now), ['whsec_new', 'whsec_old']);
  });

  test('drops the previous secret from its expiry on', () => {
    const e = endpoint('a', ['*'], { secret: 'whsec_new', previousSecret: 'whsec_old', previousSecretExpiresAt: now });
    assert.deepEqual(signingSecrets(e, now), ['whsec_new']);
    assert.deepEqual(signingSecrets(e, now + 60_000), ['whsec_new']);
  });

  test('ignores a previous secret without an expiry, or equal to the current one', () => {
    assert.deepEqual(signingSecrets(endpoint('a', ['*'], { secret: 'whsec_new', previousSecret: 'whsec_old' }), now), ['whsec_new']);
    const same = endpoint('a', ['*'], { secret: 'whsec_new', previousSecret: 'whsec_new', previousSecretExpiresAt: now + 1000 });
    assert.deepEqual(signingSecrets(same, now), ['whsec_new']);
  });
});
