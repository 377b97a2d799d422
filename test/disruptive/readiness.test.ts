/**
 * Readiness against real outages. Run after every other test file, alone (scripts/test.ts), because
 * it freezes the shared Kafka broker for a few seconds. Postgres is cut off through a TCP proxy.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import type { Service } from '../../src/service.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { waitFor } from '../support/wait-for.ts';
import { startTestService, testEnv } from '../support/service.ts';
import { TcpProxy } from '../support/tcp-proxy.ts';

const KAFKA_PID_FILE = process.env.KAFKA_PID_FILE ?? new URL('../../.run/kafka.pid', import.meta.url).pathname;
let db: TestDatabase;
let proxy: TcpProxy;
let service: Service;

async function readyz(): Promise<{ status: number; body: { checks?: Record<string, unknown> } }> {
  const res = await fetch(`http://127.0.0.1:${service.httpPort}/readyz`, { signal: AbortSignal.timeout(10_000) });
  return { status: res.status, body: (await res.json()) as { checks?: Record<string, unknown> } };
}

before(async () => {
  db = await createTestDatabase('readiness');
  const u = new URL(db.url);
  proxy = new TcpProxy({ host: u.hostname, port: Number(u.port || 5432) });
  await proxy.start();
  u.port = String(proxy.port);
  service = await startTestService(testEnv(u.toString(), 'readiness'));
});

after(async () => {
  proxy.heal();
  await service?.stop();
  await proxy?.stop();
  await db?.drop();
});

test('/readyz goes false when Postgres is unreachable and true again when it returns', async () => {
  await waitFor(async () => (await readyz()).status === 200, { what: 'ready at start' });
  assert.equal((await fetch(`http://127.0.0.1:${service.httpPort}/healthz`)).status, 200);
  proxy.cut();
  const down = await waitFor(
    async () => {
      const r = await readyz();
      return r.status === 503 ? r : null;
    },
    { what: 'not ready without Postgres' },
  );
  assert.notEqual(down.body.checks?.postgres, true);
  assert.equal(
    (await fetch(`http://127.0.0.1:${service.httpPort}/healthz`)).status,
    200,
    'still alive: a dependency outage is no reason to restart',
  );
  proxy.heal();
  await waitFor(async () => (await readyz()).status === 200, { what: 'ready again', timeoutMs: 30_000 });
});

test('/readyz goes false when the Kafka broker stops answering and true again when it returns', async () => {
  const pid = Number(readFileSync(KAFKA_PID_FILE, 'utf8').trim());
  assert.ok(pid > 0, `a broker pid in ${KAFKA_PID_FILE}`);
  await waitFor(async () => (await readyz()).status === 200, { what: 'ready before' });
  process.kill(pid, 'SIGSTOP');
  try {
    const down = await waitFor(
      async () => {
        const r = await readyz();
        return r.status === 503 ? r : null;
      },
      { what: 'not ready while the broker is frozen', timeoutMs: 30_000 },
    );
    assert.notEqual(down.body.checks?.kafka, true);
  } finally {
    process.kill(pid, 'SIGCONT');
  }
  await waitFor(async () => (await readyz()).status === 200, { what: 'ready again after the broker returns', timeoutMs: 60_000 });
});
