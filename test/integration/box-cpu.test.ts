import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import pg from 'pg';
import { BoxMeter, SERVICE_PARTS } from '../../bench/box-cpu.ts';
import { locateBroker, locatePostgres } from '../../bench/box-locate.ts';
import { BASE_DATABASE_URL } from '../support/database.ts';
import { BROKERS, openTestKafka, uniqueName } from '../support/kafka.ts';
import { freePort } from '../support/ports.ts';

// With testcontainers (scripts/test.ts) Postgres and the broker are not processes this machine can
// prove are the ones it talks to: the bench reports their readings as absent, and these tests skip.
const inContainers = process.env.TEST_SERVICES === 'testcontainers' ? 'the services run in containers (scripts/test.ts)' : false;

const cmdline = (pid: number): string => readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');

test(
  'the bench finds the shared Postgres and broker, and their CPU readings rise with the work they are given',
  { timeout: 120_000, skip: inContainers },
  async () => {
    const meter = await BoxMeter.locate({ databaseUrl: BASE_DATABASE_URL, brokers: BROKERS, receiverPid: process.pid });
    assert.notEqual(meter.postgres.pid, null, meter.describe());
    assert.notEqual(meter.broker.pid, null, meter.describe());
    assert.match(cmdline(meter.postgres.pid!), /postgres/, 'the postmaster is a postgres process');
    assert.match(cmdline(meter.broker.pid!), /\bkafka\.Kafka\b/, 'the broker is the kafka.Kafka JVM');

    const start = meter.mark();
    // Work for a backend (about a second of CPU) and for the broker (produces, acks all).
    const client = new pg.Client({ connectionString: BASE_DATABASE_URL });
    await client.connect();
    try {
      for (let i = 0; i < 3; i++) await client.query('select sum(i) from generate_series(1, 3000000) as s(i)');
    } finally {
      await client.end();
    }
    await using kafka = await openTestKafka('box-cpu');
    const topic = uniqueName('box-cpu') + '.events';
    await kafka.createTopic(topic, 1);
    try {
      for (let i = 0; i < 20; i++)
        await kafka.produce(
          topic,
          Array.from({ length: 100 }, (_, j) => ({ value: `m${i}-${j}`.repeat(50) })),
        );
    } finally {
      await kafka.admin.deleteTopics({ topics: [topic] }).catch(() => {});
    }
    const end = meter.mark();

    const box = meter.account(start, end, { deliveries: 1, serviceCpuS: 0, counted: SERVICE_PARTS });
    assert.deepEqual(box.absent, {}, 'every part was read');
    // The three generate_series queries alone need a few hundred ms of a backend's CPU.
    assert.ok(box.cpuS.postgres! >= 0.1, `Postgres cluster CPU rose: ${box.cpuS.postgres} s`);
    assert.ok(box.cpuS.broker! > 0, `broker CPU rose: ${box.cpuS.broker} s`);
    assert.ok(box.cpuS.machineBusy! >= box.cpuS.postgres!, 'the machine was at least as busy as Postgres');
    assert.ok(box.cpuS.machineTotal! > box.cpuS.machineBusy!, 'total includes idle time');
    assert.ok(box.cpuS.driver! > 0, "this process's own CPU (the driver) rose");
  },
);

test('a service that is not on this machine, or not the process found, gives no reading', { timeout: 60_000 }, async () => {
  // Neither call connects anywhere: a host that is not loopback is refused before any traffic.
  const remotePg = await locatePostgres('postgres://u:p@10.0.0.7:5432/db');
  assert.equal(remotePg.pid, null);
  assert.match(remotePg.pid === null ? remotePg.absent : '', /not on this machine/);
  const remote = locateBroker(['10.0.0.7:9092']);
  assert.equal(remote.pid, null);
  assert.match(remote.pid === null ? remote.absent : '', /not on this machine/);

  const nobody = locateBroker([`127.0.0.1:${await freePort()}`]);
  assert.equal(nobody.pid, null);
  assert.match(nobody.pid === null ? nobody.absent : '', /no socket of this network namespace listens/);

  // Postgres listens on its port, but no kafka.Kafka process holds that socket.
  const pgPort = new URL(BASE_DATABASE_URL).port || '5432';
  const notKafka = locateBroker([`127.0.0.1:${pgPort}`]);
  assert.equal(notKafka.pid, null);
  assert.match(notKafka.pid === null ? notKafka.absent : '', /holds the socket listening on port/);

  const bad = locateBroker(['no-port']);
  assert.match(bad.pid === null ? bad.absent : '', /is not host:port/);
});

test('a located process replaced by another with the same pid is not read', { timeout: 60_000, skip: inContainers }, async () => {
  const real = await BoxMeter.locate({ databaseUrl: BASE_DATABASE_URL, brokers: BROKERS, receiverPid: process.pid });
  assert.notEqual(real.postgres.pid, null, real.describe());
  assert.notEqual(real.broker.pid, null, real.describe());
  // The same pids, but other start times: what a restarted service whose pid was reused looks like.
  const stale = new BoxMeter({
    postgres: { pid: real.postgres.pid!, starttime: 1, how: 'test' },
    broker: { pid: real.broker.pid!, starttime: 1, how: 'test' },
    receiverPid: process.pid,
  });
  const box = stale.account(stale.mark(), stale.mark(), { deliveries: 10, serviceCpuS: 0.001, counted: SERVICE_PARTS });
  assert.equal(box.cpuS.postgres, null);
  assert.equal(box.cpuS.broker, null);
  assert.match(box.absent.postgres ?? '', /gone or replaced/);
  assert.match(box.absent.broker ?? '', /gone or replaced/);
  assert.equal(box.usPerDelivery.box, null, 'no box from a partial reading');
});
