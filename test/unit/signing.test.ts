import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { signatureHeader, standardKey, standardSignatureHeader } from '../../src/delivery/signing.ts';

// The product spec's receiver snippet, verbatim in substance.
function verifyWebhook(body: Buffer | string, signature: string, secret: string): boolean {
  const computed = crypto.createHmac('sha256', secret).update(body).digest('hex');
  return crypto.timingSafeEqual(Buffer.from(computed), Buffer.from(signature));
}

function whsec(): string {
  return `whsec_${crypto.randomBytes(32).toString('base64')}`;
}

const body = Buffer.from(
  JSON.stringify({ event: 'call.ended', timestamp: '2026-03-07T15:30:00Z', data: { call_id: '12345', agent: 'jsmith', note: 'café ☎' } }),
);

test('signatureHeader matches the RFC 4231 HMAC-SHA256 known answer', () => {
  // RFC 4231 test case 2.
  assert.equal(
    signatureHeader(Buffer.from('what do ya want for nothing?'), 'Jefe'),
    '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
  );
});

test('signatureHeader is lowercase hex keyed by the secret string as stored, and passes the spec snippet', () => {
  for (const secret of [whsec(), 'plain-secret', 'sécret-ünïcode-☎']) {
    const sig = signatureHeader(body, secret);
    assert.match(sig, /^[0-9a-f]{64}$/);
    // Keyed by the UTF-8 bytes of the whole string, whsec_ prefix included (not base64-decoded).
    assert.equal(sig, crypto.createHmac('sha256', Buffer.from(secret, 'utf8')).update(body).digest('hex'));
    assert.equal(verifyWebhook(body, sig, secret), true);
    assert.equal(verifyWebhook(body.toString('utf8'), sig, secret), true);
  }
  const secret = 'plain-secret';
  const sig = signatureHeader(body, secret);
  assert.equal(verifyWebhook(Buffer.concat([body, Buffer.from(' ')]), sig, secret), false);
  assert.equal(verifyWebhook(body, sig, 'other-secret'), false);
});

test('standardKey base64-decodes a whsec_ secret and uses the UTF-8 bytes of any other', () => {
  const raw = crypto.randomBytes(32);
  assert.deepEqual(standardKey(`whsec_${raw.toString('base64')}`), raw);
  assert.deepEqual(standardKey('not-prefixed-é'), Buffer.from('not-prefixed-é', 'utf8'));
  // Callers get a copy: mutating it must not corrupt later signatures.
  const secret = `whsec_${raw.toString('base64')}`;
  const before = standardSignatureHeader('msg_1', 1700000000, body, [secret]);
  standardKey(secret).fill(0);
  assert.equal(standardSignatureHeader('msg_1', 1700000000, body, [secret]), before);
});

test('standardSignatureHeader matches the Standard Webhooks example vector', () => {
  // The example from the Standard Webhooks specification and its reference libraries.
  assert.equal(
    standardSignatureHeader('msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, Buffer.from('{"test": 2432232314}'), [
      'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    ]),
    'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
  );
});

test('standardSignatureHeader signs "id.timestamp.body" with the decoded key', () => {
  const raw = crypto.randomBytes(32);
  const secret = `whsec_${raw.toString('base64')}`;
  const expected = crypto
    .createHmac('sha256', raw)
    .update(`msg_42.1700000000.${body.toString('utf8')}`)
    .digest('base64');
  assert.equal(standardSignatureHeader('msg_42', 1700000000, body, [secret]), `v1,${expected}`);
  // The reference library's signer agrees.
  assert.equal(
    standardSignatureHeader('msg_42', 1700000000, body, [secret]),
    new Webhook(secret).sign('msg_42', new Date(1700000000 * 1000), body),
  );
  // A non-whsec secret is keyed by its UTF-8 bytes.
  const plain = crypto
    .createHmac('sha256', Buffer.from('plain', 'utf8'))
    .update(`msg_42.1700000000.${body.toString('utf8')}`)
    .digest('base64');
  assert.equal(standardSignatureHeader('msg_42', 1700000000, body, ['plain']), `v1,${plain}`);
  // id and timestamp are signed: changing either changes the signature.
  assert.notEqual(standardSignatureHeader('msg_43', 1700000000, body, [secret]), `v1,${expected}`);
  assert.notEqual(standardSignatureHeader('msg_42', 1700000001, body, [secret]), `v1,${expected}`);
});

test('the standardwebhooks package verifies our headers for a whsec_ secret', () => {
  const secret = whsec();
  const id = crypto.randomUUID();
  const ts = Math.floor(Date.now() / 1000);
  const headers = {
    'webhook-id': id,
    'webhook-timestamp': String(ts),
    'webhook-signature': standardSignatureHeader(id, ts, body, [secret]),
  };
  assert.deepEqual(new Webhook(secret).verify(body, headers), JSON.parse(body.toString('utf8')));
  assert.throws(() => new Webhook(whsec()).verify(body, headers), /No matching signature/);
  assert.throws(
    () => new Webhook(secret).verify(Buffer.from(body.toString('utf8').replace('jsmith', 'jsmitH')), headers),
    /No matching signature/,
  );
});

test('a rotation header carries one signature per secret, newest first, each verifiable alone', () => {
  const current = whsec();
  const previous = whsec();
  const id = crypto.randomUUID();
  const ts = Math.floor(Date.now() / 1000);
  const header = standardSignatureHeader(id, ts, body, [current, previous]);
  const parts = header.split(' ');
  assert.equal(parts.length, 2);
  assert.equal(parts[0], standardSignatureHeader(id, ts, body, [current]));
  assert.equal(parts[1], standardSignatureHeader(id, ts, body, [previous]));
  for (const p of parts) assert.match(p, /^v1,[A-Za-z0-9+/]{43}=$/);
  const headers = { 'webhook-id': id, 'webhook-timestamp': String(ts), 'webhook-signature': header };
  assert.doesNotThrow(() => new Webhook(current).verify(body, headers));
  assert.doesNotThrow(() => new Webhook(previous).verify(body, headers));
  assert.throws(() => new Webhook(whsec()).verify(body, headers), /No matching signature/);
});

test('an empty secret list gives an empty header', () => {
  assert.equal(standardSignatureHeader('msg_1', 1, body, []), '');
});

test('one body signed for endpoints with different secrets gets each its own spec signature', () => {
  const shared = Buffer.from('{"event":"call.ended","n":1}');
  const [a, b] = ['secret-a', 'secret-b'];
  const want = (secret: string): string => crypto.createHmac('sha256', secret).update(shared).digest('hex');
  for (const secret of [a, a, b, a, b, b]) assert.equal(signatureHeader(shared, secret), want(secret), secret);
  // Another buffer with other bytes is never given the first one's signature.
  const other = Buffer.from('{"event":"call.ended","n":2}');
  assert.equal(signatureHeader(other, a), crypto.createHmac('sha256', a).update(other).digest('hex'));
});
