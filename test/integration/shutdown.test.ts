import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createTestDatabase } from '../support/database.ts';
import { openTestKafka } from '../support/kafka.ts';
import { TestReceiver } from '../support/receiver.ts';
import { startTestService, testEnv } from '../support/service.ts';
import { TcpProxy } from '../support/tcp-proxy.ts';
import { waitFor } from '../support/wait-for.ts';

const SECRET = 'whsec_' + Buffer.alloc(32, 3).toString('base64');

function event(n: number): string {
  return JSON.stringify({
    event: 'call.ended',
    timestamp: new Date().toISOString(),
    data: { call_id: `c${n}`, agent: 'a', duration: 1, disposition: 'SALE' },
  });
}

/**
 * Starts a service behind a proxy to Postgres, breaks the proxy with `fault` while events wait on
 * Postgres, and checks that the stop is bounded and commits nothing it did not settle.
 */
async function stopWithPostgresBroken(label: string, fault: 'cut' | 'freeze'): Promise<void> {
  const db = await createTestDatabase(label.replaceAll('-', '_'));
  const kafka = await openTestKafka('shutdown');
  const receiver = await TestReceiver.start();
  const target = new URL(db.url);
  const proxy = new TcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
  await proxy.start();
  try {
    await db.db
      .insertInto('webhooks.endpoints')
      .values({ name: 'ok', url: receiver.route('/ok', SECRET), secret: SECRET, event_types: ['call.ended'] })
      .execute();
    target.hostname = '127.0.0.1';
    target.port = String(proxy.port);
    const env = testEnv(target.toString(), label, {
      SHUTDOWN_TIMEOUT_MS: '6000',
      SHUTDOWN_LOG_FLUSH_MS: '2000',
      TOPIC_PARTITIONS: '1',
    });
    const service = await startTestService(env);
    let stopped = false;
    try {
      await kafka.produce(env.INPUT_TOPICS!, [{ value: event(0), headers: { 'event-id': 'sd-0' } }]);
      await waitFor(async () => (await kafka.committedTotal(env.CONSUMER_GROUP!, env.INPUT_TOPICS!)) === 1, {
        what: 'the first event delivered and committed',
        timeoutMs: 30_000,
      });
      // cut: connections refused; freeze: connections accepted and never answered.
      proxy[fault]();
      await kafka.produce(
        env.INPUT_TOPICS!,
        Array.from({ length: 5 }, (_, i) => ({ value: event(i + 1), headers: { 'event-id': `sd-${i + 1}` } })),
      );
      // The events are read and wait on Postgres (their claims cannot be written).
      await waitFor(() => service.input.inFlight >= 1, { what: 'events in flight while Postgres is gone' });
      const started = performance.now();
      await service.stop();
      stopped = true;
      const tookMs = performance.now() - started;
      assert.ok(tookMs < 6000 + 1500, `the stop took ${Math.round(tookMs)} ms, beyond SHUTDOWN_TIMEOUT_MS (6000)`);
      assert.equal(
        await kafka.committedTotal(env.CONSUMER_GROUP!, env.INPUT_TOPICS!),
        1,
        'the events that waited on Postgres are not committed: the next start reads them again',
      );
    } finally {
      if (!stopped) await service.stop();
    }
  } finally {
    await proxy.stop();
    await receiver.close();
    await kafka.close();
    await db.drop();
  }
}

test('a graceful stop with Postgres unreachable ends within SHUTDOWN_TIMEOUT_MS and commits nothing it did not settle', () =>
  stopWithPostgresBroken('shutdown', 'cut'));

test('a graceful stop with Postgres hung (connections accepted, never answered) ends within SHUTDOWN_TIMEOUT_MS', () =>
  stopWithPostgresBroken('shutdown-hung', 'freeze'));
