import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseSession, tokenMatches } from '../../src/admin/admin-auth.ts';
import { loadAdminConfig } from '../../src/config.ts';
import { ConfigError } from '../../src/errors.ts';

const TOKEN = 'a'.repeat(32);

test('the web admin refuses to start without ADMIN_TOKEN, or with one shorter than 32 characters, naming the variable', () => {
  assert.throws(
    () => loadAdminConfig({}),
    (err: unknown) => err instanceof ConfigError && err.variable === 'ADMIN_TOKEN' && /required/.test(err.message),
  );
  assert.throws(
    () => loadAdminConfig({ ADMIN_TOKEN: 'a'.repeat(31) }),
    (err: unknown) => err instanceof ConfigError && /at least 32/.test(err.message),
  );
});

test('the web admin listens on 127.0.0.1:8080 by default, with the auth proxy header off', () => {
  const c = loadAdminConfig({ ADMIN_TOKEN: TOKEN });
  assert.equal(c.host, '127.0.0.1');
  assert.equal(c.port, 8080);
  assert.equal(c.authProxyHeader, null);
  assert.equal(c.sessionTtlMs, 12 * 3_600_000);
  assert.equal(loadAdminConfig({ ADMIN_TOKEN: TOKEN, ADMIN_AUTH_PROXY_HEADER: 'X-Forwarded-User' }).authProxyHeader, 'x-forwarded-user');
  assert.throws(() => loadAdminConfig({ ADMIN_TOKEN: TOKEN, ADMIN_SESSION_TTL: '10s' }), /ADMIN_SESSION_TTL/);
});

test('a session is refused once it has expired, whatever the browser keeps', () => {
  const value = `${1_000_000_000_000 + 60_000}.abcdefghijklmnopqrstuvwx`;
  assert.ok(parseSession(value, 1_000_000_000_000));
  assert.equal(parseSession(value, 1_000_000_000_000 + 60_000), null);
  assert.equal(parseSession('garbage', 0), null);
  assert.equal(parseSession(false, 0), null);
});

test('token comparison accepts only the exact token', () => {
  assert.ok(tokenMatches(TOKEN, TOKEN));
  assert.ok(!tokenMatches(`${TOKEN}a`, TOKEN));
  assert.ok(!tokenMatches('', TOKEN));
});
