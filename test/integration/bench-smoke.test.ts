import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

const root = new URL('../../', import.meta.url).pathname;

interface Latency {
  count: number;
  p50: number;
  p95: number;
  p99: number;
}

function assertLatency(l: Latency | null, count: number, what: string): void {
  assert.ok(l, `${what}: latency present`);
  assert.equal(l.count, count, `${what}: one latency sample per delivery`);
  for (const k of ['p50', 'p95', 'p99'] as const) assert.ok(Number.isFinite(l[k]) && l[k] >= 0, `${what}: ${k} is a number ≥ 0`);
  assert.ok(l.p50 <= l.p95 && l.p95 <= l.p99, `${what}: percentiles in order`);
}

test('the bench runs end to end on a tiny load and writes every result field', { timeout: 420_000 }, async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bench-smoke-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'results.json');
  const child = spawn(
    process.execPath,
    [
      'bench/run.ts',
      '--quick',
      '--events',
      '300',
      '--only',
      'idle,throughput,raw,handrolled,scaleout,retry',
      '--paced-seconds',
      '2',
      '--paced-rate',
      '500',
      '--json',
      file,
    ],
    {
      cwd: root,
      env: process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const killer = setTimeout(() => child.kill('SIGINT'), 380_000);
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  clearTimeout(killer);
  assert.equal(code, 0, `bench exit code; output:\n${output.slice(-4000)}`);
  assert.match(output, /\| scenario +\| run/, 'the table is printed');

  const json = JSON.parse(await readFile(file, 'utf8'));
  assert.deepEqual(json.errors, []);
  assert.equal(json.meta.args.events, 300);
  assert.ok(json.meta.eventBytes >= 900 && json.meta.eventBytes <= 1200, 'events of about 1 KiB');

  const idle = json.results.idle;
  assert.equal(idle.endpoints, 10);
  assert.ok(idle.rssMb > 0 && idle.rssMb <= idle.peakRssMb, 'idle RSS measured, at most the peak');
  assert.ok(idle.heapUsedMb > 0 && idle.heapUsedMb <= idle.heapTotalMb, 'idle heap read from the dispatcher /metrics');
  assert.ok(idle.heapSpacesUsedMb.old > 0, 'heap broken down by V8 space');

  const { burst, paced: pacedRuns } = json.results.throughput;
  assert.deepEqual(
    pacedRuns.map((r: { pacedRate: number }) => r.pacedRate),
    [500],
  );
  const paced = pacedRuns[0];
  assert.deepEqual(
    burst.map((r: { endpoints: number }) => r.endpoints),
    [1, 10],
  );
  for (const r of burst) {
    const what = `throughput, ${r.endpoints} endpoint(s)`;
    assert.equal(r.events, 300);
    // At least once: a duplicate send is allowed (and reported), a missing pair is not.
    assert.equal(r.deliveries - r.duplicates, 300 * r.endpoints, `${what}: every (event, endpoint) pair received`);
    assert.equal(r.recorded, 300 * r.endpoints, `${what}: every delivery recorded as succeeded`);
    if (r.duplicates > 0) t.diagnostic(`${what}: ${r.duplicates} duplicate sends (${r.deferred} deferred attempts)`);
    assert.ok(r.deliveriesPerS > 0 && r.cpuS > 0 && r.peakRssMb > 0, `${what}: rate, CPU and RSS measured`);
    assert.equal(r.exitCode, 0, `${what}: the dispatcher stopped cleanly`);
    assertLatency(r.latencyMs, r.deliveries, what);
    assert.ok(Number.isInteger(r.duplicates) && Number.isInteger(r.deferred), `${what}: duplicates and deferred attempts counted`);
    // Every 2xx is final, so a second send of a delivery can only be one of its retried attempts.
    assert.ok(r.duplicates <= r.deferred, `${what}: ${r.duplicates} duplicate sends but only ${r.deferred} retried attempts`);
  }
  assert.equal(paced.pacedRate, 500);
  assert.equal(paced.deliveries - paced.duplicates, 1000);
  assertLatency(paced.latencyMs, 1000, 'paced');

  const hand = json.results.handRolled;
  assert.deepEqual(
    hand.burst.map((r: { endpoints: number }) => r.endpoints),
    [1, 10],
  );
  for (const r of [...hand.burst, hand.paced]) {
    const what = `hand-rolled, ${r.label}`;
    const events = r.pacedRate ? 1000 : 300;
    assert.equal(r.deliveries - r.duplicates, events * r.endpoints, `${what}: every (event, endpoint) pair received`);
    assert.equal(r.attemptsLogged, r.deliveries, `${what}: one attempt row inserted per delivery`);
    assert.ok(r.deliveriesPerS > 0 && r.cpuS > 0 && r.peakRssMb > 0, `${what}: rate, CPU and RSS of its own process`);
    assertLatency(r.latencyMs, r.deliveries, what);
  }
  assert.equal(hand.paced.pacedRate, 500);
  // The warm-ups (--quick: 3 s at the paced rate) were delivered in full and left out of the measured runs' figures.
  for (const [what, w] of [
    ['paced', paced.warmUp],
    ['hand-rolled paced', hand.paced.warmUp],
  ] as const) {
    assert.equal(w.events, 1500, `${what}: warm-up events`);
    assert.ok(w.deliveries >= 1500, `${what}: every warm-up event delivered`);
    assertLatency(w.latencyMs, w.deliveries, `${what} warm-up`);
  }

  const scale = json.results.scaleOut;
  assert.deepEqual(
    scale.runs.map((r: { processes: number }) => r.processes),
    [1, 2],
  );
  for (const r of scale.runs) {
    assert.equal(r.deliveries - r.duplicates, 3000, `scale-out, ${r.processes} process(es): every pair received`);
    assert.equal(r.cpuSByProcess.length, r.processes, 'CPU of each process');
  }
  assert.equal(scale.ratio, Math.round((scale.runs[1].deliveriesPerS / scale.runs[0].deliveriesPerS) * 1000) / 1000);

  const retry = json.results.retry;
  assert.deepEqual(retry.delaysMs, [1000, 2000, 3000]);
  assert.equal(retry.succeeded, retry.events, 'every delivery succeeded on its fourth attempt');
  assert.equal(retry.attemptsLogged, retry.events * 4);
  assert.deepEqual(
    retry.tiers.map((x: { tier: string }) => x.tier),
    ['1s', '2s', '3s', 'all'],
  );
  for (const tier of retry.tiers) {
    const n = tier.tier === 'all' ? retry.events * 3 : retry.events;
    assert.equal(tier.fromLog.count, n, `${tier.tier}: lateness of every retry from the log`);
    assert.equal(tier.fromReceiver.count, n, `${tier.tier}: lateness of every retry from the receiver`);
    assert.equal(tier.earlyFromLog, 0, `${tier.tier}: no retry started before it was due`);
  }

  // The box accounting of every CPU-measured run (docs/benchmark.md, "Reading the table"). With
  // testcontainers the services are not readable processes of this machine: absent, never wrong.
  const local = process.env.TEST_SERVICES !== 'testcontainers';
  const raw = json.results.raw.undici;
  assert.deepEqual(
    raw.map((r: { endpoints: number }) => r.endpoints),
    [1, 10],
  );
  const withBox = [
    ...[...burst, paced, ...hand.burst, hand.paced, ...scale.runs].map((r) => ({
      r,
      counted: ['service', 'postgres', 'broker', 'receiver', 'driver'],
    })),
    ...raw.map((r: { requests: number }) => ({ r: { ...r, deliveries: r.requests, cpuS: null }, counted: ['driver', 'receiver'] })),
  ];
  for (const { r, counted } of withBox) {
    const b = r.box;
    const what = `box of ${r.label ?? `raw, ${r.endpoints} origin(s)`}`;
    assert.equal(b.deliveries, r.deliveries, `${what}: per delivery of the run's deliveries`);
    assert.deepEqual(b.counted, counted, `${what}: the processes counted`);
    if (r.cpuS !== null) assert.equal(b.cpuS.service, r.cpuS, `${what}: the service's CPU is the run's own reading`);
    assert.ok(
      b.cpuS.driver > 0 && b.cpuS.receiver >= 0 && b.cpuS.machineTotal > 0 && b.seconds > 0,
      `${what}: driver, receiver and machine read`,
    );
    if (local) {
      assert.deepEqual(b.absent, {}, `${what}: every part found`);
      assert.ok(b.cpuS.postgres >= 0 && b.cpuS.broker >= 0, `${what}: Postgres and broker read`);
      assert.ok(b.usPerDelivery.box > 0 && b.boxAllowsPerS > 0, `${what}: the box adds up`);
      assert.ok(b.coresLeft > 0 && b.leftAllowsPerS > 0, `${what}: the cores other processes left it`);
    }
  }
  assert.match(output, /Box accounting, CPU µs per delivery/, 'the box table is printed');
  const boxLine = json.targets.find((x: { name: string }) => x.name.trim() === 'box allows (CPU only), 10 endpoints');
  assert.ok(boxLine, 'an info line per throughput target');
  if (local)
    assert.ok(
      boxLine.value > 0 && json.ratios.boxAllowsCheapDispatcher10 > 0 && json.ratios.boxAllowsWithCoresLeft10 > 0,
      'the bounds computed',
    );

  const goal = (name: string): string | undefined => json.targets.find((x: { name: string }) => x.name === name)?.target;
  assert.equal(goal('throughput vs raw undici, 1 endpoint'), '≥ 0.6');
  assert.equal(goal('throughput vs raw undici, 10 endpoints'), '≥ 0.7');
  assert.equal(goal("CPU per delivery vs raw undici loop's, 10 endpoints"), '≤ 1.3×');
  assert.ok(goal('retries never early'));
  const idleTarget = json.targets.find((x: { name: string }) => x.name.startsWith('idle RSS'));
  assert.equal(idleTarget.value, idle.rssMb, 'the idle RSS target reads the idle run');
  assert.ok(json.ratios.dispatcher10VsHandRolled > 0, 'the dispatcher is compared with the hand-rolled baseline');
  assert.ok(json.ratios.scaleOut > 0, 'scale-out ratio reported');
  assert.ok(json.targets.every((x: { met: boolean | null }) => x.met === null || typeof x.met === 'boolean'));
});
