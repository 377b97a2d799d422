import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AttemptHandler } from '../../src/delivery/attempt-handler.ts';

/** Whether `done` has settled by the next turn of the event loop. */
async function settledNow(h: AttemptHandler): Promise<boolean> {
  let settled = false;
  void h.done.then(() => (settled = true));
  await new Promise<void>((resolve) => setImmediate(resolve));
  return settled;
}

function recordingAbort(): { abort: (err?: Error) => void; calls: number } {
  const r = { calls: 0, abort: (_err?: Error) => void r.calls++ };
  return r;
}

test('a cancel before the request has a socket settles at once and aborts the request when it gets one', async () => {
  const h = new AttemptHandler(1024, 256, 0);
  h.cancel('timeout');
  assert.equal(await settledNow(h), true);
  assert.equal(h.cancelledBy, 'timeout');
  const r = recordingAbort();
  h.onConnect(r.abort);
  assert.equal(r.calls, 1);
});

test('a cancel after the headers keeps the status and the body read so far, and aborts the request', async () => {
  const h = new AttemptHandler(1024, 256, 0);
  const r = recordingAbort();
  h.onConnect(r.abort);
  h.onHeaders(200, []);
  h.onData(Buffer.from('partial'));
  assert.equal(await settledNow(h), false);
  h.cancel('aborted');
  h.cancel('timeout');
  assert.equal(r.calls, 1);
  assert.equal(h.cancelledBy, 'aborted', 'the first reason wins');
  assert.equal(h.statusCode, 200);
  assert.equal(h.responseBody(), 'partial');
});

test('the body is kept up to the store limit and the request aborted once the read limit is reached', async () => {
  const h = new AttemptHandler(10, 4, 0);
  const r = recordingAbort();
  h.onConnect(r.abort);
  h.onHeaders(200, []);
  h.onData(Buffer.from('abcdef'));
  assert.equal(r.calls, 0);
  h.onData(Buffer.from('ghij'));
  assert.equal(r.calls, 1);
  // undici reports the abort back through onError: the response stands.
  h.onError(new Error('aborted'));
  assert.equal(await settledNow(h), true);
  assert.equal(h.error, null);
  assert.equal(h.responseBody(), 'abcd');
});

test('a read limit of 0 ends the attempt at the headers', async () => {
  const h = new AttemptHandler(0, 0, 0);
  const r = recordingAbort();
  h.onConnect(r.abort);
  h.onHeaders(204, []);
  assert.equal(r.calls, 1);
  assert.equal(await settledNow(h), true);
  assert.equal(h.responseBody(), null);
});

test('1xx informational headers are skipped and only a non-2xx keeps its raw headers', () => {
  const h = new AttemptHandler(1024, 256, 0);
  h.onConnect(recordingAbort().abort);
  h.onHeaders(100, [Buffer.from('x'), Buffer.from('y')]);
  assert.equal(h.statusCode, 0);
  const raw = [Buffer.from('Retry-After'), Buffer.from('5')];
  h.onHeaders(503, raw);
  assert.equal(h.statusCode, 503);
  assert.equal(h.rawHeaders, raw);
  const ok = new AttemptHandler(1024, 256, 0);
  ok.onHeaders(200, raw);
  assert.equal(ok.rawHeaders, null);
});

test('an error before any response is the result; a complete response is not aborted', async () => {
  const failed = new AttemptHandler(1024, 256, 0);
  const err = new Error('connect ECONNREFUSED');
  failed.onError(err);
  assert.equal(await settledNow(failed), true);
  assert.equal(failed.error, err);
  const ok = new AttemptHandler(1024, 256, 0);
  const r = recordingAbort();
  ok.onConnect(r.abort);
  ok.onHeaders(200, []);
  ok.onData(Buffer.from('{"ok":true}'));
  ok.onComplete();
  assert.equal(await settledNow(ok), true);
  assert.equal(r.calls, 0, 'the connection goes back to the pool');
  assert.equal(ok.responseBody(), '{"ok":true}');
});
