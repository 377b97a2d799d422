/**
 * The egress guard live, through the deliverer, against receivers on loopback only (the one range
 * a test may send to): every loopback spelling is refused before a packet leaves unless
 * allow-listed, redirects are not followed, hostile responses stay bounded, plain http is refused
 * under REQUIRE_HTTPS, and the outbound proxy carries what the guard lets through.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { test, type TestContext } from 'node:test';
import { gzipSync } from 'node:zlib';
import { createDeliverer, type AttemptResult, type DelivererOptions } from '../../src/delivery/deliverer.ts';
import { createEgressGuard, parseAllowNetworks } from '../../src/delivery/egress-guard.ts';

interface Receiver {
  port: number;
  hits: string[];
}

/** An HTTP server on `host` that records each request's host:path and answers with `handler`. */
async function listen(t: TestContext, host: string, port: number, handler?: http.RequestListener): Promise<Receiver> {
  const rx: Receiver = { port: 0, hits: [] };
  const server = http.createServer((req, res) => {
    rx.hits.push(`${host} ${req.url}`);
    req.resume();
    if (handler) handler(req, res);
    else res.end('ok');
  });
  server.listen(port, host);
  await once(server, 'listening');
  rx.port = (server.address() as AddressInfo).port;
  t.after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return rx;
}

function deliverer(t: TestContext, allow: string[], overrides: Partial<DelivererOptions> = {}) {
  const refused: string[] = [];
  const d = createDeliverer({
    timeoutMs: 2000,
    responseReadBytes: 65_536,
    responseStoreBytes: 2048,
    userAgent: 'dialer-webhooks/test',
    guard: createEgressGuard(parseAllowNetworks(allow)),
    requireHttps: false,
    onRefused: (kind) => refused.push(kind),
    ...overrides,
  });
  t.after(() => d.close());
  return { d, refused };
}

const send = (d: ReturnType<typeof deliverer>['d'], url: string): Promise<AttemptResult> =>
  d.deliver({
    url,
    deliveryId: '0b6f0c1e-8a39-5d2c-9c55-1b0a3f1f2e01',
    eventType: 'call.ended',
    attempt: 1,
    body: Buffer.from('{"event":"call.ended"}'),
    secrets: ['whsec_dGVzdC1zZWNyZXQtZm9yLWVncmVzcy10ZXN0cyE='],
  });

/** The loopback spellings of the issue, all on one port served on 127.0.0.1 and ::1. */
function spellings(port: number): string[] {
  return [
    `http://127.0.0.1:${port}/a`,
    `http://127.1:${port}/b`,
    `http://2130706433:${port}/c`,
    `http://0x7f000001:${port}/d`,
    `http://0177.0.0.1:${port}/e`,
    `http://0.0.0.0:${port}/f`,
    `http://0:${port}/g`,
    `http://[::ffff:127.0.0.1]:${port}/h`,
    `http://[::ffff:7f00:1]:${port}/i`,
    `http://[::1]:${port}/j`,
    `http://localhost:${port}/k`,
    `http://ⓛⓞⓒⓐⓛⓗⓞⓢⓣ:${port}/l`,
    `http://127。0。0。1:${port}/m`,
  ];
}

async function loopbackReceivers(t: TestContext): Promise<Receiver> {
  const v4 = await listen(t, '127.0.0.1', 0);
  const v6 = await listen(t, '::1', v4.port);
  // One list of hits for both: which address family answered does not matter here.
  v6.hits = v4.hits;
  return v4;
}

test('with no allow-list, no loopback spelling receives a request', async (t) => {
  const rx = await loopbackReceivers(t);
  const { d, refused } = deliverer(t, []);
  for (const url of spellings(rx.port)) {
    const result = await send(d, url);
    assert.equal(result.errorKind, 'blocked', `${url}: ${result.error}`);
    assert.equal(result.retryable, false);
    assert.equal(result.statusCode, null);
    assert.match(result.error ?? '', /^blocked by the egress guard: .*(loopback|unspecified).*DELIVERY_ALLOW_NETWORKS/, url);
  }
  assert.deepEqual(rx.hits, []);
  assert.equal(refused.length, spellings(rx.port).length);
  assert.ok(refused.every((k) => k === 'blocked'));
});

test('allow-listing loopback lets every spelling through (so the refusals above are the guard)', async (t) => {
  const rx = await loopbackReceivers(t);
  // 0.0.0.0 as a destination reaches the local host on Linux, so it is a loopback spelling too.
  const { d } = deliverer(t, ['127.0.0.0/8', '::1/128', '0.0.0.0/32']);
  for (const url of spellings(rx.port)) {
    const result = await send(d, url);
    assert.equal(result.outcome, 'succeeded', `${url}: ${result.error}`);
  }
  assert.equal(rx.hits.length, spellings(rx.port).length);
});

test('an allow-listed 127.0.0.2/32 receives and 127.0.0.1 still does not', async (t) => {
  const allowed = await listen(t, '127.0.0.2', 0);
  const other = await listen(t, '127.0.0.1', 0);
  const { d } = deliverer(t, ['127.0.0.2/32']);
  assert.equal((await send(d, `http://127.0.0.2:${allowed.port}/in`)).outcome, 'succeeded');
  const blocked = await send(d, `http://127.0.0.1:${other.port}/in`);
  assert.equal(blocked.errorKind, 'blocked');
  assert.equal(blocked.error, 'blocked by the egress guard: 127.0.0.1 is loopback; add its network to DELIVERY_ALLOW_NETWORKS to allow it');
  const byName = await send(d, `http://localhost:${other.port}/in`);
  assert.equal(byName.errorKind, 'blocked', 'a name resolving to a denied address is refused at connect');
  assert.match(byName.error ?? '', /\(localhost resolves to it\) is loopback/);
  assert.deepEqual(allowed.hits, ['127.0.0.2 /in']);
  assert.deepEqual(other.hits, []);
});

test('a redirect to loopback is not followed, and its message shows only the origin', async (t) => {
  const internal = await listen(t, '127.0.0.1', 0);
  const redirector = await listen(t, '127.0.0.2', 0, (_req, res) => {
    res.writeHead(307, { location: `http://127.0.0.1:${internal.port}/admin?token=SECRET-IN-LOCATION` }).end();
  });
  const { d } = deliverer(t, ['127.0.0.2/32']);
  const result = await send(d, `http://127.0.0.2:${redirector.port}/hook`);
  assert.equal(result.errorKind, 'redirect');
  assert.equal(result.statusCode, 307);
  assert.equal(result.error, `HTTP 307 redirect to http://127.0.0.1:${internal.port} not followed`);
  assert.deepEqual(internal.hits, []);
});

test('an oversized response is read only up to the limit and kept only up to the store limit', async (t) => {
  const chunk = Buffer.alloc(64 * 1024, 'A');
  const rx = await listen(t, '127.0.0.2', 0, (_req, res) => {
    res.writeHead(500);
    // 64 MiB offered; the deliverer must stop long before.
    let sent = 0;
    const pump = (): void => {
      while (sent < 1024 && res.write(chunk)) sent++;
      if (sent < 1024) res.once('drain', pump);
      else res.end();
    };
    res.on('error', () => {});
    pump();
  });
  const { d } = deliverer(t, ['127.0.0.2/32'], { responseReadBytes: 128 * 1024, responseStoreBytes: 100 });
  const started = performance.now();
  const result = await send(d, `http://127.0.0.2:${rx.port}/big`);
  assert.equal(result.statusCode, 500);
  assert.equal(result.responseBody, 'A'.repeat(100));
  assert.ok(performance.now() - started < 1500, 'done well before the deadline');
});

test('a gzip bomb is neither inflated nor stored beyond the limits', async (t) => {
  const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024, 0));
  const rx = await listen(t, '127.0.0.2', 0, (_req, res) => {
    res.writeHead(200, { 'content-encoding': 'gzip', 'content-type': 'application/json' });
    res.on('error', () => {});
    res.end(bomb);
  });
  const { d } = deliverer(t, ['127.0.0.2/32'], { responseReadBytes: 8192, responseStoreBytes: 256 });
  const heapBefore = process.memoryUsage().rss;
  const result = await send(d, `http://127.0.0.2:${rx.port}/bomb`);
  assert.equal(result.outcome, 'succeeded');
  assert.ok(result.responseBody !== null && Buffer.byteLength(result.responseBody) <= 256 * 3, 'at most the stored bytes (as text)');
  assert.ok(!result.responseBody.includes('\0'.repeat(16)), 'the compressed bytes, not the inflated zeros');
  assert.ok(process.memoryUsage().rss - heapBefore < 32 * 1024 * 1024, 'the 64 MiB were never inflated');
});

test('a slow-drip response is cut at the attempt deadline', async (t) => {
  const rx = await listen(t, '127.0.0.2', 0, (_req, res) => {
    res.writeHead(200);
    const timer = setInterval(() => res.write('.'), 20);
    res.on('close', () => clearInterval(timer));
  });
  const { d } = deliverer(t, ['127.0.0.2/32'], { timeoutMs: 300 });
  const result = await send(d, `http://127.0.0.2:${rx.port}/drip`);
  // The 200 arrived, so the receiver has the event; the read ends with what came by the deadline.
  assert.equal(result.outcome, 'succeeded');
  assert.ok(result.durationMs >= 300 && result.durationMs < 1000, `${result.durationMs} ms`);
  assert.match(result.responseBody ?? '', /^\.+$/);
});

test('with REQUIRE_HTTPS on, a plain-http URL gets nothing and is not retryable', async (t) => {
  const rx = await listen(t, '127.0.0.2', 0);
  const { d, refused } = deliverer(t, ['127.0.0.2/32'], { requireHttps: true });
  const result = await send(d, `http://127.0.0.2:${rx.port}/plain`);
  assert.equal(result.errorKind, 'insecure_url');
  assert.equal(result.retryable, false);
  assert.match(result.error ?? '', /REQUIRE_HTTPS/);
  assert.deepEqual(rx.hits, []);
  assert.deepEqual(refused, ['insecure_url']);
});

/** A tiny HTTP CONNECT proxy on loopback that tunnels only to 127.0.0.2, whatever name it is asked for. */
async function connectProxy(t: TestContext): Promise<{ port: number; tunnels: string[] }> {
  const proxy = { port: 0, tunnels: [] as string[] };
  const server = http.createServer((_req, res) => res.writeHead(405).end());
  server.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    proxy.tunnels.push(req.url ?? '');
    const port = Number(new URL(`http://${req.url}`).port);
    const upstream = net.connect(port, '127.0.0.2', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  proxy.port = (server.address() as AddressInfo).port;
  t.after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return proxy;
}

test('DELIVERY_PROXY_URL: names are resolved by the proxy, IP literals are still checked by the guard first', async (t) => {
  const rx = await listen(t, '127.0.0.2', 0);
  const proxy = await connectProxy(t);
  // No allow-list at all: the proxy is trusted configuration, the target's name is the proxy's to resolve.
  const { d } = deliverer(t, [], { proxyUrl: `http://127.0.0.1:${proxy.port}` });
  const viaProxy = await send(d, `http://receiver.webhooks.test:${rx.port}/through`);
  assert.equal(viaProxy.outcome, 'succeeded', viaProxy.error ?? '');
  assert.deepEqual(proxy.tunnels, [`receiver.webhooks.test:${rx.port}`]);
  assert.deepEqual(rx.hits, ['127.0.0.2 /through']);

  const literal = await send(d, `http://127.0.0.2:${rx.port}/literal`);
  assert.equal(literal.errorKind, 'blocked');
  assert.equal(proxy.tunnels.length, 1, 'the refused literal never reached the proxy');
});
