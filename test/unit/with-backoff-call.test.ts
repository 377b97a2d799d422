import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { withBackoffCall, type BackoffSite } from '../../src/delivery/with-backoff.ts';
import { InvalidEventError, TransientError } from '../../src/errors.ts';

const logger = pino({ level: 'silent' });

function site(): { site: BackoffSite; seen: string[] } {
  const seen: string[] = [];
  return {
    seen,
    site: {
      logger,
      what: 'calling the dependency',
      policy: { initialMs: 1, maxMs: 1 },
      observer: { retried: (what) => seen.push(`retried ${what}`), waiting: (d) => seen.push(`waiting ${d}`) },
    },
  };
}

test('withBackoffCall calls once with both arguments and answers the result', async () => {
  const { site: s, seen } = site();
  const calls: Array<[number, string]> = [];
  const answer = await withBackoffCall(
    async (a: number, b: string) => (calls.push([a, b]), `${a}${b}`),
    7,
    'x',
    s,
    new AbortController().signal,
  );
  assert.equal(answer, '7x');
  assert.deepEqual(calls, [[7, 'x']]);
  assert.deepEqual(seen, [], 'no retry, no wait');
});

test('withBackoffCall retries a transient failure with the same arguments, as withBackoff does', async () => {
  const { site: s, seen } = site();
  const calls: number[] = [];
  const answer = await withBackoffCall(
    async (a: number) => {
      calls.push(a);
      if (calls.length < 3) throw new TransientError('down');
      return a * 2;
    },
    21,
    undefined,
    s,
    new AbortController().signal,
  );
  assert.equal(answer, 42);
  assert.deepEqual(calls, [21, 21, 21]);
  assert.deepEqual(seen, ['waiting 1', 'retried calling the dependency', 'retried calling the dependency', 'waiting -1']);
});

test('withBackoffCall rethrows a permanent failure at once, and an aborted signal before calling', async () => {
  const { site: s } = site();
  let calls = 0;
  const poison = new InvalidEventError('invalid_json', 'not JSON');
  await assert.rejects(
    withBackoffCall(
      async () => {
        calls++;
        throw poison;
      },
      null,
      null,
      s,
      new AbortController().signal,
    ),
    (err) => err === poison,
  );
  assert.equal(calls, 1);
  const reason = new Error('stopping');
  await assert.rejects(
    withBackoffCall(async () => calls++, null, null, s, AbortSignal.abort(reason)),
    (err) => err === reason,
  );
  assert.equal(calls, 1, 'not called once aborted');
});
