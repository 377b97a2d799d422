import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { freePort } from '../support/ports.ts';
import { waitFor } from '../support/wait-for.ts';

// `dialer-webhooks admin` as a real process: what `npm run admin` runs.

const root = new URL('../../', import.meta.url).pathname;
let db: TestDatabase;

before(async () => {
  db = await createTestDatabase('admin_web_process');
});

after(async () => {
  await db?.drop();
});

function startAdmin(env: Record<string, string>) {
  const child = spawn(process.execPath, ['src/cli/main.ts', 'admin'], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, output: () => output };
}

test('dialer-webhooks admin refuses to start without ADMIN_TOKEN, with exit code 2 and a message naming it', async () => {
  const admin = startAdmin({ DATABASE_URL: db.url });
  assert.equal(await admin.exited, 2);
  assert.match(admin.output(), /configuration error: ADMIN_TOKEN: required/);
  const short = startAdmin({ DATABASE_URL: db.url, ADMIN_TOKEN: 'too-short' });
  assert.equal(await short.exited, 2);
  assert.match(short.output(), /ADMIN_TOKEN: must be at least 32 characters/);
});

test('dialer-webhooks admin serves the Webhooks page from the database and stops cleanly on SIGTERM', async () => {
  const name = `process-${randomUUID().slice(0, 8)}`;
  await db.db
    .insertInto('webhooks.endpoints')
    .values({ name, url: 'https://crm.example.com/hooks', event_types: ['*'] })
    .execute();
  const token = randomUUID() + randomUUID();
  const port = await freePort();
  const admin = startAdmin({ DATABASE_URL: db.url, ADMIN_TOKEN: token, ADMIN_HTTP_PORT: String(port) });
  let exited = false;
  void admin.exited.then(() => (exited = true));
  const page = await waitFor(
    async () => {
      if (exited) throw new Error(`the admin exited:\n${admin.output()}`);
      const res = await fetch(`http://127.0.0.1:${port}/webhooks`, { headers: { authorization: `Bearer ${token}` } }).catch(() => null);
      return res?.status === 200 ? res.text() : null;
    },
    { what: 'the web admin to answer', timeoutMs: 30_000, intervalMs: 100 },
  );
  assert.ok(page.includes(name));
  admin.child.kill('SIGTERM');
  assert.equal(await admin.exited, 0);
});
