import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import { Webhook } from 'standardwebhooks';
import { createDeliverer } from '../../src/delivery/deliverer.ts';
import { createEgressGuard, parseAllowNetworks } from '../../src/delivery/egress-guard.ts';
import type { AttemptRequest, Deliverer, DelivererOptions } from '../../src/delivery/deliverer.ts';

interface Received {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

interface Receiver {
  url: string;
  port: number;
  server: http.Server;
  /** Requests whose body was read in full, in arrival order. */
  received: Received[];
  connections: number;
  /** Resolves with the next request as soon as its headers arrive. */
  nextRequest(): Promise<http.IncomingMessage>;
}

/** A real HTTP server on 127.0.0.1 (port 0); closed, with its connections, after the test. */
async function startReceiver(
  t: TestContext,
  handler: (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer) => void,
): Promise<Receiver> {
  const waiters: Array<(req: http.IncomingMessage) => void> = [];
  const receiver: Receiver = {
    url: '',
    port: 0,
    server: http.createServer((req, res) => {
      waiters.shift()?.(req);
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        receiver.received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
        handler(req, res, body);
      });
    }),
    received: [],
    connections: 0,
    nextRequest: () => new Promise((resolve) => waiters.push(resolve)),
  };
  receiver.server.on('connection', () => receiver.connections++);
  receiver.server.listen(0, '127.0.0.1');
  await once(receiver.server, 'listening');
  receiver.port = (receiver.server.address() as AddressInfo).port;
  receiver.url = `http://127.0.0.1:${receiver.port}`;
  t.after(async () => {
    receiver.server.closeAllConnections();
    await new Promise((resolve) => receiver.server.close(resolve));
  });
  return receiver;
}

const LOOPBACK_HTTP = { guard: createEgressGuard(parseAllowNetworks(['127.0.0.0/8'])), requireHttps: false };

function deliverer(t: TestContext, overrides: Partial<DelivererOptions> = {}): Deliverer {
  const d = createDeliverer({
    timeoutMs: 5000,
    responseReadBytes: 65_536,
    responseStoreBytes: 2048,
    userAgent: 'dialer-webhooks/test',
    // The receivers are plain-http servers on loopback, which the defaults refuse.
    ...LOOPBACK_HTTP,
    ...overrides,
  });
  t.after(() => d.close());
  return d;
}

const whsec = (): string => `whsec_${crypto.randomBytes(32).toString('base64')}`;
const envelope = Buffer.from(
  JSON.stringify({
    event: 'call.ended',
    timestamp: '2026-03-07T15:30:00Z',
    data: { call_id: '12345', agent: 'jsmith', note: 'ça marche ☎' },
  }),
);

function request(url: string, overrides: Partial<AttemptRequest> = {}): AttemptRequest {
  return {
    url,
    deliveryId: crypto.randomUUID(),
    eventType: 'call.ended',
    attempt: 1,
    body: envelope,
    secrets: [whsec()],
    ...overrides,
  };
}

test('a 200 succeeds; every header is present and both signatures verify in the receiver', async (t) => {
  const current = whsec();
  const previous = whsec();
  const checks: { spec?: boolean; standardCurrent?: boolean; standardPrevious?: boolean; standardStranger?: boolean } = {};
  const rx = await startReceiver(t, (req, res, body) => {
    // The spec's snippet, on the raw body, keyed by the current secret string as stored.
    const computed = crypto.createHmac('sha256', current).update(body).digest('hex');
    checks.spec = crypto.timingSafeEqual(Buffer.from(computed), Buffer.from(String(req.headers['x-webhook-signature'])));
    const headers = req.headers as Record<string, string>;
    const verifies = (secret: string): boolean => {
      try {
        new Webhook(secret).verify(body, headers);
        return true;
      } catch {
        return false;
      }
    };
    checks.standardCurrent = verifies(current);
    checks.standardPrevious = verifies(previous);
    checks.standardStranger = verifies(whsec());
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  });
  const d = deliverer(t);
  const req = request(`${rx.url}/hooks/crm?x=1`, { attempt: 3, secrets: [current, previous] });
  const before = Date.now();
  const result = await d.deliver(req);

  assert.equal(result.outcome, 'succeeded', result.error ?? '');
  assert.equal(result.statusCode, 200);
  assert.equal(result.errorKind, null);
  assert.equal(result.error, null);
  assert.equal(result.responseBody, 'ok');
  assert.equal(result.retryAfterMs, null);
  assert.equal(result.permanent, false);
  assert.ok(Number.isInteger(result.durationMs) && result.durationMs >= 0);
  assert.ok(result.startedAt.getTime() >= before && result.startedAt.getTime() <= Date.now());

  assert.equal(rx.received.length, 1);
  const got = rx.received[0]!;
  assert.equal(got.method, 'POST');
  assert.equal(got.url, '/hooks/crm?x=1');
  assert.ok(got.body.equals(envelope), 'body bytes received equal the bytes sent');
  assert.equal(got.headers['content-type'], 'application/json');
  assert.equal(got.headers['content-length'], String(envelope.length));
  assert.equal(got.headers['user-agent'], 'dialer-webhooks/test');
  assert.equal(got.headers['x-webhook-event'], 'call.ended');
  assert.equal(got.headers['x-webhook-attempt'], '3');
  assert.equal(got.headers['webhook-id'], req.deliveryId);
  assert.equal(got.headers['webhook-timestamp'], String(Math.floor(result.startedAt.getTime() / 1000)));
  assert.match(String(got.headers['x-webhook-signature']), /^[0-9a-f]{64}$/);
  assert.match(String(got.headers['webhook-signature']), /^v1,\S+ v1,\S+$/);
  assert.deepEqual(checks, { spec: true, standardCurrent: true, standardPrevious: true, standardStranger: false });
});

test('signatures are made afresh for each attempt from the injected clock', async (t) => {
  const rx = await startReceiver(t, (_req, res) => res.end());
  let clock = 1_700_000_000_500;
  const d = deliverer(t, { now: () => clock });
  const secret = whsec();
  const req = request(rx.url, { secrets: [secret] });
  const first = await d.deliver(req);
  clock += 61_000;
  const second = await d.deliver({ ...req, attempt: 2 });
  assert.equal(first.startedAt.getTime(), 1_700_000_000_500);
  assert.equal(second.startedAt.getTime(), 1_700_000_061_500);
  const [h1, h2] = rx.received.map((r) => r.headers);
  assert.equal(h1!['webhook-timestamp'], '1700000000');
  assert.equal(h2!['webhook-timestamp'], '1700000061');
  assert.equal(h1!['webhook-id'], h2!['webhook-id']);
  assert.equal(h1!['x-webhook-signature'], h2!['x-webhook-signature'], 'the body signature depends on the body only');
  assert.equal(h1!['webhook-signature'], new Webhook(secret).sign(req.deliveryId, new Date(1_700_000_000_000), envelope));
  assert.equal(h2!['webhook-signature'], new Webhook(secret).sign(req.deliveryId, new Date(1_700_000_061_000), envelope));
});

test('a 500 fails with http_status and the response body truncated to responseStoreBytes', async (t) => {
  const rx = await startReceiver(t, (_req, res) => res.writeHead(500).end('e'.repeat(5000)));
  const result = await deliverer(t, { responseStoreBytes: 100 }).deliver(request(rx.url));
  assert.equal(result.outcome, 'failed');
  assert.equal(result.statusCode, 500);
  assert.equal(result.errorKind, 'http_status');
  assert.equal(result.error, 'HTTP 500');
  assert.equal(result.responseBody, 'e'.repeat(100));
  assert.equal(result.retryAfterMs, null);
  assert.equal(result.permanent, false);
});

test('a truncated multi-byte character is dropped, not stored as garbage', async (t) => {
  // 'é' is two bytes: a 5-byte limit cuts the third one in half.
  const rx = await startReceiver(t, (_req, res) => res.writeHead(400).end('ééé'));
  const result = await deliverer(t, { responseStoreBytes: 5 }).deliver(request(rx.url));
  assert.equal(result.responseBody, 'éé');
});

test('a 302 is a redirect failure and the Location is not followed', async (t) => {
  let movedHits = 0;
  const rx = await startReceiver(t, (req, res) => {
    if (req.url === '/moved') {
      movedHits++;
      res.end('followed');
      return;
    }
    res.writeHead(302, { location: `http://127.0.0.1:${rx.port}/moved` }).end();
  });
  const result = await deliverer(t).deliver(request(`${rx.url}/hook`));
  assert.equal(result.outcome, 'failed');
  assert.equal(result.statusCode, 302);
  assert.equal(result.errorKind, 'redirect');
  // The origin only: a Location's path and query may carry a token.
  assert.equal(result.error, `HTTP 302 redirect to http://127.0.0.1:${rx.port} not followed`);
  assert.equal(movedHits, 0);
  assert.deepEqual(
    rx.received.map((r) => r.url),
    ['/hook'],
  );
});

test('a receiver that never answers times out after timeoutMs', async (t) => {
  const rx = await startReceiver(t, () => {});
  const result = await deliverer(t, { timeoutMs: 300 }).deliver(request(rx.url));
  assert.equal(result.outcome, 'failed');
  assert.equal(result.errorKind, 'timeout');
  assert.equal(result.error, 'timed out after 300 ms');
  assert.equal(result.statusCode, null);
  assert.ok(result.durationMs >= 300, `durationMs ${result.durationMs}`);
  assert.ok(result.durationMs < 5000, `durationMs ${result.durationMs}`);
  assert.equal(rx.received.length, 1);
});

test('a refused connection is a network failure naming the error code', async (t) => {
  const server = http.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  const result = await deliverer(t).deliver(request(`http://127.0.0.1:${port}/hook`));
  assert.equal(result.outcome, 'failed');
  assert.equal(result.errorKind, 'network');
  assert.equal(result.statusCode, null);
  assert.match(result.error ?? '', /ECONNREFUSED/);
});

test('an invalid URL is a failure, not an exception, and does not echo the URL', async (t) => {
  const result = await deliverer(t).deliver(request('not a url?token=s3cret'));
  assert.equal(result.outcome, 'failed');
  assert.equal(result.errorKind, 'network');
  assert.doesNotMatch(result.error ?? '', /s3cret/);
});

test('a 410 Gone is a permanent failure', async (t) => {
  const rx = await startReceiver(t, (_req, res) => res.writeHead(410).end('gone'));
  const result = await deliverer(t).deliver(request(rx.url));
  assert.equal(result.outcome, 'failed');
  assert.equal(result.errorKind, 'http_status');
  assert.equal(result.statusCode, 410);
  assert.equal(result.permanent, true);
  assert.equal(result.responseBody, 'gone');
});

test('Retry-After is parsed on 429 and 503 only, as seconds or an HTTP-date', async (t) => {
  const nowMs = Date.parse('2026-03-07T15:30:00Z');
  const replies: Array<[number, string]> = [
    [429, '7'],
    [503, 'Sat, 07 Mar 2026 15:31:30 GMT'],
    [503, 'Sat, 07 Mar 2026 15:00:00 GMT'],
    [429, 'soon'],
    [500, '7'],
  ];
  const rx = await startReceiver(t, (_req, res) => {
    const [status, retryAfter] = replies[rx.received.length - 1]!;
    res.writeHead(status, { 'retry-after': retryAfter }).end();
  });
  const d = deliverer(t, { now: () => nowMs });
  const got = [];
  for (let i = 0; i < replies.length; i++) {
    const r = await d.deliver(request(rx.url));
    got.push([r.statusCode, r.retryAfterMs]);
  }
  assert.deepEqual(got, [
    [429, 7000],
    [503, 90_000],
    [503, 0],
    [429, null],
    [500, null],
  ]);
});

test('an endless 200 body is cut at responseReadBytes and the attempt completes', async (t) => {
  let serverSocketClosed = false;
  const rx = await startReceiver(t, (req, res) => {
    req.socket.on('close', () => (serverSocketClosed = true));
    res.writeHead(200, { 'content-type': 'text/plain' });
    const chunk = Buffer.alloc(16 * 1024, 'a');
    const pump = (): void => {
      while (!res.destroyed && res.write(chunk));
      if (!res.destroyed) res.once('drain', pump);
    };
    pump();
  });
  const result = await deliverer(t, { timeoutMs: 5000, responseReadBytes: 64 * 1024, responseStoreBytes: 1000 }).deliver(request(rx.url));
  assert.equal(result.outcome, 'succeeded');
  assert.equal(result.statusCode, 200);
  assert.equal(result.responseBody, 'a'.repeat(1000));
  assert.ok(result.durationMs < 5000, `finished before the deadline: ${result.durationMs} ms`);
  // The body was destroyed, so the connection is closed rather than left streaming.
  const deadline = Date.now() + 5000;
  while (!serverSocketClosed && Date.now() < deadline) await new Promise((resolve) => setImmediate(resolve));
  assert.equal(serverSocketClosed, true);
});

test('aborting req.signal ends an attempt in flight as aborted', async (t) => {
  const rx = await startReceiver(t, () => {});
  const d = deliverer(t, { timeoutMs: 10_000 });
  const shutdown = new AbortController();
  const arrived = rx.nextRequest();
  const pending = d.deliver(request(rx.url, { signal: shutdown.signal }));
  await arrived;
  shutdown.abort();
  const result = await pending;
  assert.equal(result.outcome, 'failed');
  assert.equal(result.errorKind, 'aborted');
  assert.ok(result.durationMs < 10_000);
});

test('an already aborted signal sends nothing', async (t) => {
  const rx = await startReceiver(t, (_req, res) => res.end());
  const result = await deliverer(t).deliver(request(rx.url, { signal: AbortSignal.abort() }));
  assert.equal(result.errorKind, 'aborted');
  assert.equal(rx.connections, 0);
});

test('50 sequential attempts reuse keep-alive connections', async (t) => {
  const rx = await startReceiver(t, (_req, res) => res.end('ok'));
  const d = deliverer(t);
  for (let i = 0; i < 50; i++) {
    const result = await d.deliver(request(`${rx.url}/hook`, { attempt: i + 1 }));
    assert.equal(result.outcome, 'succeeded', result.error ?? '');
  }
  assert.equal(rx.received.length, 50);
  assert.ok(rx.connections <= 3, `${rx.connections} connections for 50 requests`);
});

test('close() can be called twice and later attempts fail as aborted', async (t) => {
  const rx = await startReceiver(t, (_req, res) => res.end());
  const d = createDeliverer({ timeoutMs: 5000, responseReadBytes: 1024, responseStoreBytes: 100, userAgent: 'x', ...LOOPBACK_HTTP });
  assert.equal((await d.deliver(request(rx.url))).outcome, 'succeeded');
  await d.close();
  await d[Symbol.asyncDispose]();
  const result = await d.deliver(request(rx.url));
  assert.equal(result.errorKind, 'aborted');
  assert.equal(rx.received.length, 1);
});
