import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  addEndpointHeaders,
  headerProblem,
  isReservedHeaderName,
  maskedHeaders,
  maskHeaderValue,
  parseHeaderLine,
  toEndpointHeaders,
} from '../../src/endpoints/endpoint-headers.ts';

test('the dispatcher reserves Content-Type, Host, X-Webhook-* and webhook-* in any case', () => {
  for (const n of ['Content-Type', 'HOST', 'x-webhook-signature', 'X-Webhook-Anything', 'webhook-id', 'Webhook-Signature']) {
    assert.equal(isReservedHeaderName(n), true, n);
  }
  for (const n of ['Authorization', 'X-Webhooks', 'X-Api-Key', 'Webhook', 'Content-Length-Ish'])
    assert.equal(isReservedHeaderName(n), false, n);
});

test('a bad header is refused with a message naming it and never its value', () => {
  assert.equal(headerProblem('Authorization', 'Bearer abc'), null);
  assert.match(headerProblem('Bad Name', 'v')!, /header name "Bad Name" is not a valid HTTP header name/);
  assert.match(headerProblem('X-Split', 'secret\r\nX-Evil: 1')!, /header X-Split has a value with characters other than printable ASCII/);
  assert.match(headerProblem('X-A', '')!, /empty value/);
  assert.match(headerProblem('X-A', ' padded')!, /white space/);
  assert.match(headerProblem('webhook-id', 'secret')!, /header webhook-id may not be set/);
  for (const name of ['X-Split', 'X-A', 'webhook-id']) assert.doesNotMatch(headerProblem(name, 'secret\n') ?? '', /secret/);
});

test('values are masked keeping only a credential scheme', () => {
  assert.equal(maskHeaderValue('Bearer abc.def'), 'Bearer ****');
  assert.equal(maskHeaderValue('Basic dXNlcjpwYXNz'), 'Basic ****');
  assert.equal(maskHeaderValue('k-123456'), '****');
  assert.equal(maskHeaderValue('Bearer'), '****');
  assert.deepEqual(maskedHeaders({ 'X-Key': 'abc', Authorization: 'Bearer t' }), { Authorization: 'Bearer ****', 'X-Key': '****' });
});

test('"Name: value" lines parse, and a line without a name is refused without echoing it', () => {
  assert.deepEqual(parseHeaderLine('Authorization: Bearer a:b'), ['Authorization', 'Bearer a:b']);
  assert.deepEqual(parseHeaderLine('  X-Key :  v  '), ['X-Key', 'v']);
  assert.throws(
    () => parseHeaderLine('s3cret-token'),
    (err: Error) => !err.message.includes('s3cret') && /Name: value/.test(err.message),
  );
  assert.throws(() => parseHeaderLine('X-Webhook-Event: x'), /may not be set/);
});

test("the request's own headers win over the endpoint's, whatever their case", () => {
  const headers: Record<string, string> = { 'content-type': 'application/json', 'x-webhook-signature': 'ours', traceparent: 'ours' };
  addEndpointHeaders(headers, {
    'Content-Type': 'text/plain',
    'X-WEBHOOK-SIGNATURE': 'theirs',
    TraceParent: 'theirs',
    'webhook-x': 'no',
    'X-Key': 'k',
  });
  assert.deepEqual(headers, { 'content-type': 'application/json', 'x-webhook-signature': 'ours', traceparent: 'ours', 'x-key': 'k' });
});

test('a stored value that is no object of strings gives no headers', () => {
  assert.deepEqual(toEndpointHeaders(null), {});
  assert.deepEqual(toEndpointHeaders(['a']), {});
  assert.deepEqual(toEndpointHeaders({ A: 'x', B: 3 }), { A: 'x' });
  assert.ok(Object.isFrozen(toEndpointHeaders({ A: 'x' })));
});
