// Verifies one dialer-webhooks request: both signatures and the timestamp.
//
//   WEBHOOK_SECRET='whsec_…' node verify.js headers.json < body
//
// headers.json holds the request's headers as a JSON object; stdin is the raw request body.
// Exit 0 when both signatures verify and the timestamp is fresh, 1 when not, 2 on bad usage.
// Node 18 or newer, no dependencies.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';

const TOLERANCE_SECONDS = 5 * 60;

/** X-Webhook-Signature: lowercase hex HMAC-SHA256 of the raw body, keyed by the secret string as is. */
export function verifySpecSignature(body, header, secret) {
  const expected = createHmac('sha256', secret).update(body).digest('hex');
  return safeEqual(expected, header ?? '');
}

/**
 * webhook-signature (Standard Webhooks): base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>",
 * keyed by the base64-decoded part of the secret after "whsec_". During a secret rotation the header
 * holds one "v1,<signature>" per valid secret, separated by spaces: one match is enough.
 */
export function verifyStandardSignature(body, headers, secret) {
  const id = headers['webhook-id'];
  const timestamp = headers['webhook-timestamp'];
  const signatures = headers['webhook-signature'];
  if (!id || !timestamp || !signatures) return false;
  const key = secret.startsWith('whsec_') ? Buffer.from(secret.slice('whsec_'.length), 'base64') : Buffer.from(secret, 'utf8');
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest('base64');
  return signatures.split(' ').some((s) => s.startsWith('v1,') && safeEqual(expected, s.slice('v1,'.length)));
}

/** Replay protection: webhook-timestamp (unix seconds of this attempt) within 5 minutes of now. */
export function timestampIsFresh(headers, nowSeconds = Date.now() / 1000) {
  const timestamp = headers['webhook-timestamp'] ?? '';
  return /^\d+$/.test(timestamp) && Math.abs(nowSeconds - Number(timestamp)) <= TOLERANCE_SECONDS;
}

function safeEqual(a, b) {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

const secret = process.env.WEBHOOK_SECRET;
if (process.argv.length !== 3 || !secret) {
  process.stderr.write("usage: WEBHOOK_SECRET='whsec_…' node verify.js headers.json < body\n");
  process.exit(2);
}
// Header names are case-insensitive: look them up in lowercase.
const headers = Object.fromEntries(
  Object.entries(JSON.parse(readFileSync(process.argv[2], 'utf8'))).map(([name, value]) => [name.toLowerCase(), String(value)]),
);
const body = readFileSync(0); // the raw bytes, exactly as received: never a re-serialized object

const checks = {
  'X-Webhook-Signature': verifySpecSignature(body, headers['x-webhook-signature'], secret),
  'webhook-signature': verifyStandardSignature(body, headers, secret),
  'webhook-timestamp within 5 minutes': timestampIsFresh(headers),
};
for (const [name, ok] of Object.entries(checks)) process.stdout.write(`${ok ? 'ok  ' : 'FAIL'} ${name}\n`);
process.exit(Object.values(checks).every(Boolean) ? 0 : 1);
