/**
 * The egress guard as pure functions: every denied range, the IPv6 forms that embed IPv4, the
 * allow-list, URL spellings as the WHATWG parser normalises them, and the connect-time lookup with
 * a fake resolver. No packet leaves: nothing here opens a socket.
 */
import assert from 'node:assert/strict';
import type { LookupAddress } from 'node:dns';
import { test } from 'node:test';
import { loadConfig } from '../../src/config.ts';
import { parseTarget } from '../../src/delivery/attempt-target.ts';
import { EgressBlockedError, guardedLookup, safeOrigin } from '../../src/delivery/egress-connector.ts';
import { createEgressGuard, parseAllowNetworks, type EgressDecision } from '../../src/delivery/egress-guard.ts';
import { ConfigError } from '../../src/errors.ts';

const guard = createEgressGuard();
const reason = (d: EgressDecision): string | null => (d.allowed ? null : d.reason);

test('denies every internal, special and documentation range, IPv4 and IPv6', () => {
  const cases: Array<[string, string]> = [
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['::1', 'loopback'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['::', 'unspecified'],
    ['10.0.0.1', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['fc00::1', 'private'],
    ['fd12:3456::1', 'private'],
    ['169.254.169.254', 'link-local'],
    ['169.254.0.1', 'link-local'],
    ['fe80::1', 'link-local'],
    ['100.64.0.1', 'cgnat'],
    ['100.127.255.255', 'cgnat'],
    ['198.18.0.1', 'benchmarking'],
    ['198.19.255.255', 'benchmarking'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['ff02::1', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['255.255.255.255', 'reserved'],
    ['192.0.0.8', 'reserved'],
    ['192.0.2.1', 'documentation'],
    ['198.51.100.7', 'documentation'],
    ['203.0.113.9', 'documentation'],
    ['2001:db8::1', 'documentation'],
  ];
  for (const [address, expected] of cases) assert.equal(reason(guard.check(address)), expected, address);
});

test('allows public addresses, including the neighbours of denied ranges', () => {
  for (const address of [
    '8.8.8.8',
    '1.1.1.1',
    '9.255.255.255',
    '11.0.0.0',
    '172.15.255.255',
    '172.32.0.0',
    '100.63.255.255',
    '100.128.0.0',
    '198.17.255.255',
    '198.20.0.0',
    '223.255.255.255',
    '2606:4700:4700::1111',
    '2a00:1450:4001::1',
  ]) {
    assert.deepEqual(guard.check(address), { allowed: true }, address);
  }
});

test('IPv6 forms that embed a denied IPv4 address are denied, with a public one allowed', () => {
  const denied: Array<[string, RegExp]> = [
    ['::ffff:127.0.0.1', /^loopback$/],
    ['::ffff:7f00:1', /^loopback$/],
    ['::ffff:169.254.169.254', /^link-local$/],
    ['::ffff:10.1.2.3', /^private$/],
    // ipaddr.js reads a dotted tail as IPv4-mapped; the hex spelling is IPv4-compatible.
    ['::127.0.0.1', /loopback$/],
    ['::7f00:1', /^IPv4-compatible 127\.0\.0\.1, loopback$/],
    ['::a9fe:a9fe', /^IPv4-compatible 169\.254\.169\.254, link-local$/],
    ['64:ff9b::7f00:1', /^NAT64 127\.0\.0\.1, loopback$/],
    ['64:ff9b::a9fe:a9fe', /^NAT64 169\.254\.169\.254, link-local$/],
    ['2002:7f00:1::', /^6to4 127\.0\.0\.1, loopback$/],
    ['2002:c0a8:101::1', /^6to4 192\.168\.1\.1, private$/],
    // Teredo: public server 65.54.227.120, client 127.0.0.1 XOR-ed with ones.
    ['2001:0:4136:e378:8000:63bf:80ff:fffe', /^Teredo 127\.0\.0\.1, loopback$/],
    // Teredo with a private server address.
    ['2001:0:a00:1:8000:63bf:f7f7:f7f7', /^Teredo 10\.0\.0\.1, private$/],
  ];
  for (const [address, expected] of denied) assert.match(reason(guard.check(address)) ?? 'allowed', expected, address);
  for (const address of ['::ffff:8.8.8.8', '64:ff9b::808:808', '2002:808:808::1', '2001:0:4136:e378:8000:63bf:f7f7:f7f7']) {
    assert.deepEqual(guard.check(address), { allowed: true }, address);
  }
});

test('a blocked decision names the address as spelled and the range', () => {
  assert.deepEqual(guard.check('[::ffff:7f00:1]'), { allowed: false, address: '::ffff:7f00:1', reason: 'loopback' });
  assert.deepEqual(guard.check('crm.example.com'), { allowed: false, address: 'crm.example.com', reason: 'not an IP address' });
});

test('DELIVERY_ALLOW_NETWORKS exempts exactly its networks', () => {
  const g = createEgressGuard(parseAllowNetworks(['127.0.0.2/32', '10.20.0.0/16', 'fd00:1::/32']));
  assert.deepEqual(g.check('127.0.0.2'), { allowed: true });
  assert.equal(reason(g.check('127.0.0.1')), 'loopback');
  assert.equal(reason(g.check('127.0.0.3')), 'loopback');
  assert.deepEqual(g.check('::ffff:127.0.0.2'), { allowed: true }, 'the mapped form of an allowed address is that address');
  assert.deepEqual(g.check('10.20.5.6'), { allowed: true });
  assert.equal(reason(g.check('10.21.0.1')), 'private');
  assert.deepEqual(g.check('fd00:1::5'), { allowed: true });
  assert.equal(reason(g.check('fd00:2::5')), 'private');
  assert.equal(reason(g.check('::1')), 'loopback', 'an IPv4 allow-list does not open IPv6 loopback');
  assert.deepEqual(g.allowedNetworks, ['127.0.0.2/32', '10.20.0.0/16', 'fd00:1::/32']);
});

test('allow-list items: bare addresses are single hosts, mapped networks are IPv4, malformed ones fail naming the variable', () => {
  assert.deepEqual(createEgressGuard(parseAllowNetworks(['192.168.7.7', '::1'])).allowedNetworks, ['192.168.7.7/32', '::1/128']);
  assert.deepEqual(createEgressGuard(parseAllowNetworks(['::ffff:10.0.0.0/104'])).allowedNetworks, ['10.0.0.0/8']);
  for (const bad of ['nonsense', '10.0.0.0/33', '127.1/8', '0x7f000001/32', '10.0.0.0/', 'fd00::/129', '']) {
    assert.throws(
      () => parseAllowNetworks([bad]),
      (err: unknown) => err instanceof ConfigError && err.variable === 'DELIVERY_ALLOW_NETWORKS',
      bad,
    );
  }
});

test('loadConfig: DELIVERY_ALLOW_NETWORKS defaults to none, REQUIRE_HTTPS to true, and a bad CIDR fails the start', () => {
  const c = loadConfig({});
  assert.deepEqual(c.delivery.allowNetworks, []);
  assert.equal(c.delivery.requireHttps, true);
  assert.equal(c.delivery.proxyUrl, null);
  assert.deepEqual(loadConfig({ DELIVERY_ALLOW_NETWORKS: ' 127.0.0.0/8, ::1/128 ' }).delivery.allowNetworks, ['127.0.0.0/8', '::1/128']);
  assert.throws(
    () => loadConfig({ DELIVERY_ALLOW_NETWORKS: '127.0.0.0/8,10.0.0.0/40' }),
    /^ConfigError: DELIVERY_ALLOW_NETWORKS: "10\.0\.0\.0\/40"/,
  );
  assert.throws(
    () => loadConfig({ DELIVERY_PROXY_URL: 'socks://u:p@proxy:1080' }),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError && err.variable === 'DELIVERY_PROXY_URL');
      assert.doesNotMatch(err.message, /u:p/);
      return true;
    },
  );
});

test('every loopback spelling of a URL host reaches the guard as the address it connects to, and is refused', () => {
  const spellings = [
    'http://127.0.0.1/',
    'http://127.1/',
    'http://2130706433/',
    'http://0x7f000001/',
    'http://0177.0.0.1/',
    'http://0.0.0.0/',
    'http://0/',
    'http://[::1]/',
    'http://[::ffff:127.0.0.1]/',
    'http://[::ffff:7f00:1]/',
    'http://127。0。0。1/',
    'http://１２７.０.０.１/',
    'http://127.0.0.1./',
    'http://169.254.169.254/latest/meta-data/',
    'https://[64:ff9b::7f00:1]/',
  ];
  for (const url of spellings) {
    const target = parseTarget(url, guard);
    assert.ok(typeof target !== 'string', url);
    assert.match(
      target.refusal ?? 'not refused',
      /^blocked by the egress guard: .* is .*; add its network to DELIVERY_ALLOW_NETWORKS/,
      url,
    );
  }
});

test('URL parser confusion: what is checked is the host undici connects to', () => {
  // Credentials are refused outright, whatever the host.
  for (const url of ['http://user@127.0.0.1/', 'https://allowed.example.com@127.0.0.1/', 'https://user:pass@crm.example.com/hook']) {
    const target = parseTarget(url, guard);
    assert.ok(typeof target !== 'string');
    assert.match(target.refusal ?? '', /credentials/, url);
    assert.doesNotMatch(target.refusal ?? '', /pass|allowed\.example/, 'the message repeats no credential');
  }
  // A backslash ends the host for http(s), as in undici: the host is the name before it.
  const backslash = parseTarget('https://crm.example.com\\@127.0.0.1/', guard);
  assert.ok(typeof backslash !== 'string');
  assert.equal(backslash.origin, 'https://crm.example.com');
  assert.equal(backslash.refusal, null, 'a name is checked at connect time, by its resolved addresses');
  // IDN: circled letters map to plain "localhost", a name that resolves to loopback at connect time.
  const idn = parseTarget('http://ⓛⓞⓒⓐⓛⓗⓞⓢⓣ:8080/', guard);
  assert.ok(typeof idn !== 'string');
  assert.equal(idn.origin, 'http://localhost:8080');
  assert.equal(parseTarget('http://exa mple.com/', guard), 'invalid URL');
});

test('the connect-time lookup checks every resolved address and hands over only checked ones', async () => {
  const answers: Record<string, LookupAddress[]> = {
    'public.test': [
      { address: '93.184.215.14', family: 4 },
      { address: '2606:2800:21f:cb07:6820:80da:af6b:8b2c', family: 6 },
    ],
    'mixed.test': [
      { address: '93.184.215.14', family: 4 },
      { address: '10.0.0.7', family: 4 },
    ],
    'metadata.test': [{ address: '169.254.169.254', family: 4 }],
  };
  const lookup = guardedLookup(guard, (hostname, _options, callback) => callback(null, answers[hostname] ?? []));
  const call = (host: string, all: boolean): Promise<{ err: Error | null; address: unknown; family?: number }> =>
    new Promise((resolve) =>
      lookup(
        host,
        { all } as never,
        ((err: Error | null, address: unknown, family?: number) => resolve({ err, address, family })) as never,
      ),
    );

  const all = await call('public.test', true);
  assert.equal(all.err, null);
  assert.deepEqual(all.address, answers['public.test']);
  const one = await call('public.test', false);
  assert.deepEqual([one.address, one.family], ['93.184.215.14', 4]);

  const mixed = await call('mixed.test', true);
  assert.ok(mixed.err instanceof EgressBlockedError, 'one internal address among public ones refuses the name');
  assert.equal(mixed.err.code, 'WH_EGRESS_BLOCKED');
  assert.equal(
    mixed.err.message,
    'blocked by the egress guard: 10.0.0.7 (mixed.test resolves to it) is private; add its network to DELIVERY_ALLOW_NETWORKS to allow it',
  );
  assert.ok((await call('metadata.test', false)).err instanceof EgressBlockedError);
});

test('DNS rebinding: each connection checks the answer it connects to', async () => {
  // First answer public, then loopback: the second connection is refused, not sent to 127.0.0.1.
  let calls = 0;
  const lookup = guardedLookup(guard, (_hostname, _options, callback) =>
    callback(null, [{ address: calls++ === 0 ? '93.184.215.14' : '127.0.0.1', family: 4 }]),
  );
  const call = (): Promise<{ err: Error | null; address: unknown }> =>
    new Promise((resolve) =>
      lookup('rebind.test', { all: true } as never, ((err: Error | null, address: unknown) => resolve({ err, address })) as never),
    );
  assert.deepEqual((await call()).address, [{ address: '93.184.215.14', family: 4 }]);
  const second = await call();
  assert.ok(second.err instanceof EgressBlockedError);
  assert.equal(second.address, '');
});

test('safeOrigin drops credentials, path and query', () => {
  assert.equal(safeOrigin('https://user:pw@hooks.slack.example:8443/services/T0/B0/SECRETTOKEN?x=1'), 'https://hooks.slack.example:8443');
  assert.equal(safeOrigin('not a url'), 'invalid URL');
});
