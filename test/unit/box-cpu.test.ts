import assert from 'node:assert/strict';
import { test } from 'node:test';
import { boxAccount, boxBound, RAW_LOOP_PARTS, SERVICE_PARTS, type BoxCpu } from '../../bench/box-cpu.ts';
import { backendParent, dataDirOfPort, isLocalHost, listeningInodes, parsePostmasterPid, socketInode } from '../../bench/box-locate.ts';

const noMachine = { machineS: null, absent: {} };
const none = { bound: null, cheapService: null, cheapBoxUs: null, boundLeft: null, cheapServiceLeft: null };

/** The session-23 hand accounting at 10 endpoints, as CPU seconds over 200,000 deliveries. */
function service(over: Partial<BoxCpu['cpuS']> = {}): BoxCpu {
  return boxAccount({
    seconds: 21.5,
    deliveries: 200_000,
    counted: SERVICE_PARTS,
    cpuS: { service: 17.8, postgres: 9, broker: 1.2, receiver: 7.2, driver: 0.4, machineBusy: 40, machineTotal: 43, ...over },
    ...noMachine,
  });
}

function raw(over: Partial<BoxCpu['cpuS']> = {}): BoxCpu {
  return boxAccount({
    seconds: 8.5,
    deliveries: 200_000,
    counted: RAW_LOOP_PARTS,
    // Postgres and the broker did other clients' work meanwhile: read, not counted.
    cpuS: { service: null, postgres: 0.5, broker: 0.3, receiver: 6.2, driver: 9.6, machineBusy: 16.5, machineTotal: 17, ...over },
    ...noMachine,
  });
}

test('µs per delivery of each process, their sum (box), and other = machine busy − box', () => {
  const b = service();
  assert.deepEqual(b.usPerDelivery, {
    service: 89,
    postgres: 45,
    broker: 6,
    receiver: 36,
    driver: 2,
    box: 178,
    other: 22,
    machineBusy: 200,
    machineTotal: 215,
  });
  assert.equal(b.machineBusyShare, 0.93);
  // 43 core-seconds in 21.5 s = 2 cores; 2 / 178 µs.
  assert.equal(b.boxAllowsPerS, Math.round(2e6 / 178));
  // Others took 22 µs × 200,000 = 4.4 s of the 43: 38.6 s / 21.5 s = 1.795 cores left to this run.
  assert.equal(b.coresLeft, 1.795);
  assert.equal(b.leftAllowsPerS, Math.round((38.6 / 21.5 / 35.6) * 200_000));
});

test('a part that takes no part in the run is read but neither counted nor shown per delivery', () => {
  const r = raw();
  assert.deepEqual(r.counted, ['driver', 'receiver']);
  assert.equal(r.cpuS.postgres, 0.5, 'kept in the JSON');
  assert.equal(r.usPerDelivery.postgres, null);
  assert.equal(r.usPerDelivery.broker, null);
  assert.equal(r.usPerDelivery.service, null);
  assert.equal(r.usPerDelivery.box, 79);
  assert.equal(r.usPerDelivery.other, 3.5, 'Postgres and the broker fall into other');
});

test('a counted part that could not be read leaves the box unknown, never cheaper', () => {
  const b = service({ postgres: null });
  assert.equal(b.usPerDelivery.postgres, null);
  assert.equal(b.usPerDelivery.box, null);
  assert.equal(b.usPerDelivery.other, null);
  assert.equal(b.boxAllowsPerS, null);
  assert.equal(b.coresLeft, null);
  assert.equal(b.leftAllowsPerS, null);
  assert.deepEqual(boxBound(b, raw()), none);
  const noMachineRead = service({ machineBusy: null, machineTotal: null });
  assert.equal(noMachineRead.usPerDelivery.box, 178, 'the processes still add up');
  assert.equal(noMachineRead.usPerDelivery.other, null);
  assert.equal(noMachineRead.machineBusyShare, null);
  assert.equal(noMachineRead.coresLeft, null, 'no cores left without the machine');
  assert.equal(boxBound(noMachineRead, raw()).bound, Math.round((79 / 178) * 1000) / 1000);
  assert.equal(boxBound(noMachineRead, raw()).boundLeft, null);
});

test('no deliveries: nothing per delivery', () => {
  const b = boxAccount({ seconds: 1, deliveries: 0, counted: SERVICE_PARTS, cpuS: service().cpuS, ...noMachine });
  assert.equal(b.usPerDelivery.box, null);
  assert.equal(b.usPerDelivery.service, null);
});

test('the bound is the raw box over ours; the cheap-dispatcher bound swaps the service µs for the raw driver µs', () => {
  const { bound, cheapService, cheapBoxUs } = boxBound(service(), raw());
  assert.equal(bound, Math.round((79 / 178) * 1000) / 1000);
  assert.equal(cheapBoxUs, 178 - 89 + 48);
  assert.equal(cheapService, Math.round((79 / 137) * 1000) / 1000);
  assert.deepEqual(boxBound(undefined, raw()), none);
  assert.deepEqual(boxBound(service(), undefined), none);
});

test('with the cores others left each run, the bounds scale by their ratio', () => {
  // The raw run shared the machine with a busy neighbour: the same work took 12 s, and 7.7 of the
  // 24 core-seconds went to others (1.358 cores left against the service run's 1.795).
  const busyRaw = boxAccount({ ...raw(), seconds: 12, cpuS: { ...raw().cpuS, machineBusy: 23.5, machineTotal: 24 } });
  assert.equal(busyRaw.coresLeft, 1.358);
  const s = service();
  const { bound, boundLeft, cheapService, cheapServiceLeft } = boxBound(s, busyRaw);
  const left = s.coresLeft! / busyRaw.coresLeft!;
  assert.equal(boundLeft, Math.round((79 / 178) * left * 1000) / 1000);
  assert.equal(cheapServiceLeft, Math.round((79 / 137) * left * 1000) / 1000);
  assert.ok(boundLeft! > bound! && cheapServiceLeft! > cheapService!, 'the raw run got fewer cores: the bound rises');
});

test('reads pid, data directory and port from a postmaster.pid file', () => {
  const text = '2710\n/var/lib/postgresql/15/main\n1796236943\n5432\n/var/run/postgresql\nlocalhost\n   398643         1\nready   \n';
  assert.deepEqual(parsePostmasterPid(text), { pid: 2710, dataDir: '/var/lib/postgresql/15/main', port: 5432 });
  assert.throws(() => parsePostmasterPid(''), /first line "" is not a pid/);
  assert.throws(() => parsePostmasterPid('2710\n/x\n'), /fourth line undefined is not a port/);
});

test('finds the data directory of the online cluster on a port in pg_lsclusters output', () => {
  const text = [
    '14 old  5433 down   postgres /var/lib/postgresql/14/old /var/log/postgresql/postgresql-14-old.log',
    '15 main 5432 online postgres /var/lib/postgresql/15/main /var/log/postgresql/postgresql-15-main.log',
    '',
  ].join('\n');
  assert.equal(dataDirOfPort(text, 5432), '/var/lib/postgresql/15/main');
  assert.equal(dataDirOfPort(text, 5433), null, 'a cluster that is down is not the server');
  assert.equal(dataDirOfPort(text, 6543), null);
  assert.equal(dataDirOfPort('', 5432), null);
});

test('finds the inodes of the sockets listening on a port in /proc/net/tcp', () => {
  const text = [
    '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
    '   0: 0100007F:2384 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5001 1 0000000000000000 100 0 0 10 0',
    '   1: 0100007F:2385 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5002 1 0000000000000000 100 0 0 10 0',
    // An established connection to the port is not the listener.
    '   2: 0100007F:2384 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 5003 1 0000000000000000 20 4 30 10 -1',
    '   3: 0100007F:D431 0100007F:2384 01 00000000:00000000 00:00000000 00000000     0        0 5004 1 0000000000000000 20 4 30 10 -1',
    '',
  ].join('\n');
  assert.deepEqual(listeningInodes(text, 9092), [5001]);
  assert.deepEqual(listeningInodes(text, 9093), [5002]);
  assert.deepEqual(listeningInodes(text, 5432), []);
  const tcp6 =
    '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n' +
    '   0: 00000000000000000000000001000000:2384 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 6001 1 0000000000000000 100 0 0 10 0\n';
  assert.deepEqual(listeningInodes(tcp6, 9092), [6001]);
});

test('tells socket links from other fd links, and local hosts from remote ones', () => {
  assert.equal(socketInode('socket:[398643]'), 398643);
  assert.equal(socketInode('/var/lib/kafka/00000000.log'), null);
  assert.equal(socketInode('anon_inode:[eventpoll]'), null);
  for (const h of ['127.0.0.1', '127.0.1.1', 'localhost', '::1', '[::1]', '/var/run/postgresql', '']) assert.ok(isLocalHost(h), h);
  for (const h of ['10.0.0.5', 'kafka', 'db.example.com', '128.0.0.1']) assert.ok(!isLocalHost(h), h);
});

test("takes the first candidate postmaster that is the parent of this connection's backend, else says why none is", () => {
  const candidates = [
    [2710, '/var/lib/postgresql/15/main/postmaster.pid'],
    [2710, 'pgrep -o -x postgres'],
  ] as const;
  assert.deepEqual(backendParent(candidates, 5872, 2710), {
    pid: 2710,
    how: "/var/lib/postgresql/15/main/postmaster.pid; parent of this connection's backend 5872",
  });
  // The oldest postgres is another cluster (a test's private one): the second candidate is the server's.
  assert.deepEqual(
    backendParent(
      [
        [900, 'pgrep -o -x postgres'],
        [2710, 'postmaster.pid'],
      ],
      5872,
      2710,
    ),
    {
      pid: 2710,
      how: "postmaster.pid; parent of this connection's backend 5872",
    },
  );
  assert.match(backendParent(candidates, 5872, 1) as string, /pid 2710 \(.*\) is not the parent \(1\) of this connection's backend 5872/);
  assert.match(backendParent(candidates, 75, null) as string, /backend 75 is no process here/);
  assert.equal(backendParent([], 5872, 2710), 'no process named postgres here');
});
