// A demo webhook receiver for docker-compose.yml's `demo` profile (run with the service's image:
// `node demo/receiver.ts`). It checks both signatures every request carries and logs one JSON
// line per request:
//   - X-Webhook-Signature: the product spec's Node snippet, verbatim in spirit (hex HMAC-SHA256 of
//     the raw body, keyed by the secret string as stored);
//   - webhook-signature (Standard Webhooks): base64 HMAC-SHA256 of "id.timestamp.body", keyed by
//     the base64-decoded part of a whsec_ secret.
// Answers 401 on a bad X-Webhook-Signature, 503 to the first attempt of the event types named in
// FAIL_FIRST_ATTEMPT (so a retry shows up), 200 otherwise.
//
// Environment: PORT (8080), WEBHOOK_SECRET (required), FAIL_FIRST_ATTEMPT (comma-separated event
// types, default none).
import crypto from 'node:crypto';
import http from 'node:http';

const port = Number(process.env.PORT ?? 8080);
const secret = process.env.WEBHOOK_SECRET ?? '';
const failFirst = new Set(
  (process.env.FAIL_FIRST_ATTEMPT ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== ''),
);
if (secret === '') {
  console.error('receiver: WEBHOOK_SECRET is required (the demo endpoint secret)');
  process.exit(2);
}

// The spec's snippet. timingSafeEqual throws on different lengths, so compare lengths first.
function verifyWebhook(body: Buffer, signature: string, key: string): boolean {
  const computed = crypto.createHmac('sha256', key).update(body).digest('hex');
  const a = Buffer.from(computed);
  const b = Buffer.from(signature);
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}

// Standard Webhooks: any one of the space-separated "v1,<base64>" signatures may match.
function verifyStandard(body: Buffer, id: string, timestamp: string, header: string, key: string): boolean {
  const raw = key.startsWith('whsec_') ? Buffer.from(key.slice('whsec_'.length), 'base64') : Buffer.from(key);
  const expected = Buffer.from(crypto.createHmac('sha256', raw).update(`${id}.${timestamp}.`).update(body).digest('base64'));
  return header.split(' ').some((part) => {
    const [version, sig] = part.split(',', 2);
    if (version !== 'v1' || sig === undefined) return false;
    const given = Buffer.from(sig);
    return given.length === expected.length && crypto.timingSafeEqual(given, expected);
  });
}

const seen = new Set<string>();

function header(req: http.IncomingMessage, name: string): string {
  const v = req.headers[name];
  return Array.isArray(v) ? (v[0] ?? '') : (v ?? '');
}

const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/healthz') {
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    return;
  }
  if (req.method !== 'POST') {
    res.writeHead(405).end();
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    const deliveryId = header(req, 'webhook-id');
    const specOk = verifyWebhook(body, header(req, 'x-webhook-signature'), secret);
    const standardOk = verifyStandard(body, deliveryId, header(req, 'webhook-timestamp'), header(req, 'webhook-signature'), secret);
    let event: { event?: string; timestamp?: string; data?: unknown } = {};
    try {
      event = JSON.parse(body.toString('utf8')) as typeof event;
    } catch {
      // logged below as an unparsable body
    }
    const firstAttempt = !seen.has(deliveryId);
    seen.add(deliveryId);
    let status = 200;
    if (!specOk) status = 401;
    else if (firstAttempt && event.event !== undefined && failFirst.has(event.event)) status = 503;
    console.log(
      JSON.stringify({
        time: new Date().toISOString(),
        status,
        path: req.url,
        deliveryId,
        event: event.event ?? '(unparsable body)',
        timestamp: event.timestamp,
        signature: specOk ? 'valid' : 'INVALID',
        standardSignature: standardOk ? 'valid' : 'INVALID',
        note: status === 503 ? 'failing the first attempt on purpose (FAIL_FIRST_ATTEMPT)' : undefined,
        data: event.data,
      }),
    );
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ received: status === 200 }));
  });
});

server.listen(port, '0.0.0.0', () => {
  console.log(`receiver: listening on :${port}, failing the first attempt of: ${[...failFirst].join(', ') || 'nothing'}`);
});

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
