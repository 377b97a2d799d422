/**
 * `npm run bench`: throughput, latency, memory, retry timing and isolation of the dispatcher,
 * against the raw limits of this machine measured in the same run. The dispatcher runs as a real
 * process (`node dist/main.js`, as npm start runs it, built here first) with a database and topics of its own; the receiver runs in another
 * process. Progress goes to stderr; the tables to stdout; `--json FILE` writes every number.
 * See docs/benchmark.md.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config.ts';
import { BASE_DATABASE_URL } from '../test/support/database.ts';
import { BROKERS, openTestKafka } from '../test/support/kafka.ts';
import { parseArgs, USAGE, UsageError, type BenchArgs, type ScenarioName } from './args.ts';
import { runBacklog } from './backlog.ts';
import { BENCH_LOG_DIR } from './bench-process.ts';
import { BoxMeter } from './box-cpu.ts';
import { formatProfile } from './cpu-profile.ts';
import { killAllDispatchers, type BenchContext } from './harness.ts';
import { START_SCRIPT } from './start-flags.ts';
import { runHandRolled } from './handrolled.ts';
import { runIdle } from './idle.ts';
import { runIsolation } from './isolation.ts';
import { EVENT_BYTES } from './producer.ts';
import { runRawKafka, runRawUndici, type RawUndiciResult } from './raw.ts';
import { ReceiverClient } from './receiver.ts';
import { ratiosAndTargets, report, type Results } from './report.ts';
import { runRetryTiming } from './retry-timing.ts';
import { runScaleOut } from './scale-out.ts';
import { fmtInt, round } from './stats.ts';
import { runThroughput, type ThroughputResult } from './throughput.ts';

const root = new URL('../', import.meta.url).pathname;

function meta(args: BenchArgs, argv: string[]): Record<string, unknown> {
  let commit: string | null = null;
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    // not a git checkout
  }
  return {
    startedAt: new Date().toISOString(),
    command: `npm run bench -- ${argv.join(' ')}`.trim(),
    node: process.version,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cpus: os.availableParallelism(),
    memoryGb: round(os.totalmem() / 2 ** 30, 1),
    loadAvgAtStart: os.loadavg().map((v) => round(v, 2)),
    commit,
    eventBytes: EVENT_BYTES,
    args,
  };
}

/** The numbers each scenario sizes itself by. */
function plan(args: BenchArgs): {
  isolationEvents: number;
  retryEvents: number;
  retryDelaysMs: number[];
  idleSeconds: number;
  handRolledEvents: number;
  scaleOutEvents: number;
} {
  return {
    idleSeconds: args.quick ? 5 : 10,
    // Its rate is the point, not its total: at most 10,000 events (100,000 deliveries at 10 endpoints).
    handRolledEvents: Math.min(args.events, 10_000),
    // Ten endpoints, twice, like isolation.
    scaleOutEvents: args.quick ? args.events : Math.max(10, Math.round(args.events / 4)),
    // Nine endpoints, twice: a quarter of N keeps the default run within reason.
    isolationEvents: args.quick ? args.events : Math.max(10, Math.round(args.events / 4)),
    retryEvents: Math.min(args.events, args.quick ? 200 : 1000),
    retryDelaysMs: args.full ? [5000, 30_000, 120_000] : [1000, 2000, 3000],
  };
}

async function runScenario(name: ScenarioName, ctx: BenchContext, results: Results): Promise<void> {
  const { args } = ctx;
  const p = plan(args);
  switch (name) {
    case 'throughput': {
      // Filled as each run ends, so a run that fails keeps the ones before it in the report.
      const burst: ThroughputResult[] = [];
      const paced: ThroughputResult[] = [];
      results.throughput = { burst, paced };
      for (const m of [1, 10]) {
        burst.push(
          await runThroughput(ctx, {
            label: `throughput: ${m} endpoint${m > 1 ? 's' : ''}`,
            endpoints: m,
            events: args.events,
            cpuProfDir: args.cpuProfDir,
          }),
        );
      }
      for (const rate of args.pacedSeconds > 0 ? args.pacedRates : []) {
        paced.push(
          await runThroughput(ctx, {
            label: `paced ${rate}/s: 1 endpoint`,
            endpoints: 1,
            paced: { rate, seconds: args.pacedSeconds, warmupSeconds: args.pacedWarmupSeconds },
          }),
        );
      }
      for (const r of burst)
        if (r.profile) console.log(`\n${formatProfile(r.profile, `CPU profile of the dispatcher, ${r.label} (${r.profile.file})`)}\n`);
      return;
    }
    case 'raw': {
      const concurrency = loadConfig({}).delivery.endpointConcurrency;
      const undici: RawUndiciResult[] = [];
      for (const m of [1, 10]) {
        undici.push(
          await runRawUndici(ctx, {
            label: `raw undici: ${m} origin${m > 1 ? 's' : ''} × ${concurrency}`,
            endpoints: m,
            requestsPerEndpoint: args.events,
            concurrency,
          }),
        );
      }
      const kafka = await runRawKafka(ctx, { label: 'raw kafkajs consumer', events: args.events });
      results.raw = { undici, kafka };
      return;
    }
    case 'idle':
      results.idle = await runIdle(ctx, { endpoints: 10, seconds: p.idleSeconds });
      return;
    case 'handrolled': {
      const rate = args.pacedRates[0];
      results.handRolled = await runHandRolled(ctx, {
        events: p.handRolledEvents,
        paced: args.pacedSeconds > 0 && rate ? { rate, seconds: args.pacedSeconds, warmupSeconds: args.pacedWarmupSeconds } : null,
      });
      return;
    }
    case 'scaleout':
      results.scaleOut = await runScaleOut(ctx, p.scaleOutEvents);
      return;
    case 'isolation':
      results.isolation = await runIsolation(ctx, p.isolationEvents, args.cpuProfDir);
      for (const r of [results.isolation.baseline, results.isolation.withHung])
        if (r.profile) console.log(`\n${formatProfile(r.profile, `CPU profile of the dispatcher, ${r.label} (${r.profile.file})`)}\n`);
      return;
    case 'retry':
      results.retry = await runRetryTiming(ctx, { events: p.retryEvents, delaysMs: p.retryDelaysMs });
      return;
    case 'backlog':
      results.backlog = await runBacklog(ctx, args.events);
      return;
  }
}

/**
 * Builds dist/ from the current sources (`npm run build`), so the dispatcher runs what production
 * runs and never an older build. Skipped when `--script` names a script outside dist/.
 */
function buildDispatcher(args: BenchArgs, progress: (line: string) => void): void {
  const script = args.script ?? START_SCRIPT;
  if (!script.startsWith('dist/')) return;
  const built = spawnSync(process.execPath, ['scripts/build.ts'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
  if (built.status !== 0) throw new Error(`npm run build failed (exit ${built.status}):\n${built.stderr}`);
  progress(built.stderr.trim());
}

// ---------------------------------------------------------------- main

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  let args: BenchArgs | 'help';
  try {
    args = parseArgs(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`bench: ${err.message}\n${USAGE}`);
      return 2;
    }
    throw err;
  }
  if (args === 'help') {
    console.log(USAGE);
    return 0;
  }
  // kafkajs 2.2.4 on Node 24 sets a negative timer now and then (requestQueue); harmless noise.
  process.removeAllListeners('warning');
  process.on('warning', (w) => {
    if (w.name !== 'TimeoutNegativeWarning') process.stderr.write(`${w.name}: ${w.message}\n`);
  });
  const m = meta(args, argv);
  const started = performance.now();
  const progress = (line: string): void => {
    const t = ((performance.now() - started) / 1000).toFixed(0).padStart(4);
    process.stderr.write(`${t}s ${line}\n`);
  };
  progress(
    `bench: ${args.only.join(', ')} · ${fmtInt(args.events)} events of ${EVENT_BYTES} B${args.quick ? ' · quick' : ''}${args.full ? ' · full retry schedule' : ''}`,
  );

  const results: Results = {};
  const errors: Array<{ scenario: string; error: string }> = [];
  // Interrupted (e.g. a --full run out of time): what finished is still printed and written.
  const onSignal = (): void => {
    killAllDispatchers();
    errors.push({ scenario: 'interrupted', error: 'the bench was interrupted by a signal' });
    void finish().finally(() => process.exit(130));
  };
  async function finish(): Promise<void> {
    const { ratios, targets } = ratiosAndTargets(results);
    m.loadAvgAtEnd = os.loadavg().map((v) => round(v, 2));
    m.seconds = round((performance.now() - started) / 1000, 1);
    console.log(report(results, targets, m));
    if (args !== 'help' && args.json) {
      const file = path.resolve(args.json);
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, JSON.stringify({ meta: m, results, ratios, targets, errors }, null, 2) + '\n');
      progress(`results written to ${file}`);
    }
  }
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  // However the driver ends (a crash, a closed pipe), no dispatcher outlives it.
  process.on('exit', killAllDispatchers);

  buildDispatcher(args, progress);
  const kafka = await openTestKafka('bench');
  const receiver = await ReceiverClient.start(10);
  const box = await BoxMeter.locate({ databaseUrl: BASE_DATABASE_URL, brokers: BROKERS, receiverPid: receiver.pid });
  progress(box.describe());
  progress(`process logs in ${BENCH_LOG_DIR}`);
  m.box = { postgres: box.postgres, broker: box.broker, receiverPid: box.receiverPid, driverPid: process.pid };
  const ctx: BenchContext = { args, kafka, receiver, box, progress, topicsToDelete: new Set() };
  try {
    for (const name of args.only) {
      const t0 = performance.now();
      try {
        await runScenario(name, ctx, results);
        progress(`${name}: done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      } catch (err) {
        const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
        errors.push({ scenario: name, error: message });
        progress(`${name}: FAILED: ${message}`);
      }
    }
  } finally {
    killAllDispatchers();
    receiver.close();
    if (ctx.topicsToDelete.size > 0) await kafka.admin.deleteTopics({ topics: [...ctx.topicsToDelete], timeout: 30_000 }).catch(() => {});
    await kafka.close();
  }
  await finish();
  if (errors.length > 0) {
    console.error(`\nbench: ${errors.length} scenario(s) failed: ${errors.map((e) => e.scenario).join(', ')}`);
    return 1;
  }
  return 0;
}

process.exitCode = await main();
