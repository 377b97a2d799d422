/**
 * What every scenario needs: a dispatcher as a real process (`node dist/main.js`, as npm start runs it) with a database
 * of its own (cloned from the migrated template), its own topics and consumer group, endpoints
 * on the bench receiver, and a way to watch deliveries arrive.
 */
import { sql } from 'kysely';
import { createTestDatabase, type TestDatabase } from '../test/support/database.ts';
import { freePort } from '../test/support/ports.ts';
import type { TestKafka } from '../test/support/kafka.ts';
import { testEnv } from '../test/support/service.ts';
import type { BenchArgs } from './args.ts';
import { BenchProcess, killAllBenchProcesses } from './bench-process.ts';
import type { BoxMeter } from './box-cpu.ts';
import { START_ENV, START_NODE_FLAGS, START_SCRIPT } from './start-flags.ts';
import type { ProcessSnapshot } from './process-stats.ts';
import type { ReceiverClient, RouteBehaviour } from './receiver.ts';
import { fmtInt } from './stats.ts';

/** SIGKILLs every dispatcher (and other child) process this bench started that still runs. */
export const killAllDispatchers = killAllBenchProcesses;

export const SECRET = 'whsec_' + Buffer.alloc(32, 7).toString('base64');

export interface BenchContext {
  args: BenchArgs;
  kafka: TestKafka;
  receiver: ReceiverClient;
  /** Reads the CPU of every process on the box (Postgres, broker, receiver, driver, machine) over a run. */
  box: BoxMeter;
  /** A progress line on stderr. */
  progress(line: string): void;
  /**
   * Topics to delete when the bench ends. Not sooner: a kafkajs producer that has sent to a topic
   * keeps asking the broker for its metadata, and stalls once the topic is gone.
   */
  topicsToDelete: Set<string>;
}

export interface EndpointSpec {
  /** Receiver path, e.g. `/e3`; also the endpoint name without the slash. */
  path: string;
  behaviour: RouteBehaviour;
}

/** The dispatcher process(es) of one run and everything they own (one consumer group). */
export class DispatcherRun {
  readonly label: string;
  readonly env: Record<string, string>;
  readonly db: TestDatabase;
  readonly endpoints: EndpointSpec[];
  readonly #ctx: BenchContext;
  readonly #topicId: string;
  /** The processes started, in order; all in one consumer group. */
  readonly processes: BenchProcess[] = [];
  /** The HTTP port (/metrics, /readyz) of each process. */
  readonly ports: number[] = [];

  private constructor(ctx: BenchContext, label: string, db: TestDatabase, env: Record<string, string>, endpoints: EndpointSpec[]) {
    this.#ctx = ctx;
    this.label = label;
    this.db = db;
    this.env = env;
    this.endpoints = endpoints;
    this.#topicId = env.INPUT_TOPICS!.replace(/\.events$/, '');
  }

  /** Database, receiver routes, endpoint rows and the input topic (`partitions`, default 3); no process yet. */
  static async setup(
    ctx: BenchContext,
    label: string,
    endpoints: EndpointSpec[],
    overrides: Record<string, string> = {},
    partitions = 3,
  ): Promise<DispatcherRun> {
    const db = await createTestDatabase(`bench_${label}`);
    // The benchmark's receivers are plain-http servers on loopback: allowed here on purpose.
    const env = testEnv(db.url, `bench-${label}`, {
      LOG_LEVEL: 'warn',
      LAG_POLL_INTERVAL_MS: '15000',
      REQUIRE_HTTPS: 'false',
      DELIVERY_ALLOW_NETWORKS: '127.0.0.0/8',
      ...START_ENV,
      ...ctx.args.env,
      ...overrides,
    });
    await ctx.receiver.routes(Object.fromEntries(endpoints.map((e) => [e.path, e.behaviour])));
    for (const [i, e] of endpoints.entries()) {
      await db.db
        .insertInto('webhooks.endpoints')
        .values({ name: `bench-${e.path.slice(1)}`, url: ctx.receiver.url(i, e.path), secret: SECRET, event_types: ['call.ended'] })
        .execute();
    }
    await ctx.kafka.createTopic(env.INPUT_TOPICS!, partitions);
    return new DispatcherRun(ctx, label, db, env, endpoints);
  }

  get topic(): string {
    return this.env.INPUT_TOPICS!;
  }

  get paths(): string[] {
    return this.endpoints.map((e) => e.path);
  }

  /** The URL endpoint `path` was registered with. */
  endpointUrl(path: string): string {
    return this.#ctx.receiver.url(
      this.endpoints.findIndex((e) => e.path === path),
      path,
    );
  }

  /** The first process's pid (0 before start). */
  get pid(): number {
    return this.processes[0]?.pid ?? 0;
  }

  /** The first process's output (its pino log, the last 8,000 characters). */
  get output(): string {
    return this.processes.map((p) => p.output).join('\n');
  }

  /** True once any process has exited. */
  get exited(): boolean {
    return this.processes.some((p) => p.exited);
  }

  /** Spawns `count` dispatchers (one consumer group) and waits until each /readyz answers 200. */
  async start(nodeArgs: string[] = [], count = 1): Promise<void> {
    const started: BenchProcess[] = [];
    for (let i = 0; i < count; i++) {
      const port = await freePort();
      const args = [...START_NODE_FLAGS, ...this.#ctx.args.nodeArgs, ...nodeArgs, this.#ctx.args.script ?? START_SCRIPT];
      const p = new BenchProcess(this.label, args, {
        ...this.env,
        HTTP_PORT: String(port),
        HTTP_HOST: '127.0.0.1',
      });
      this.processes.push(p);
      this.ports.push(port);
      started.push(p);
    }
    await Promise.all(
      started.map((p, i) =>
        p.waitReady(async () => (await fetch(`http://127.0.0.1:${this.ports[this.ports.length - count + i]}/readyz`)).status === 200),
      ),
    );
  }

  /** The first process's CPU and memory; see `snapshots()` for all. */
  snapshot(): ProcessSnapshot | null {
    return this.processes[0]?.snapshot() ?? null;
  }

  snapshots(): Array<ProcessSnapshot | null> {
    return this.processes.map((p) => p.snapshot());
  }

  /** The first process's /metrics text. */
  async metrics(): Promise<string> {
    return (await fetch(`http://127.0.0.1:${this.ports[0]}/metrics`)).text();
  }

  /** SIGTERM every process and wait for the exits (SIGKILL after `graceMs`). Returns the first's exit code. */
  async stop(graceMs = 40_000): Promise<number | null> {
    const codes = await Promise.all(this.processes.map((p) => p.stop(graceMs)));
    return codes.find((c) => c !== 0) ?? codes[0] ?? null;
  }

  /** Successful deliveries recorded in the delivery log. */
  async succeededInLog(): Promise<number> {
    const r = await sql<{ n: number }>`select count(*)::int as n from webhooks.deliveries where status = 'succeeded'`.execute(this.db.db);
    return r.rows[0]!.n;
  }

  /**
   * Retried attempts although the receiver never failed: the first attempt was failed unsent
   * because the endpoint looked stalled (ENDPOINT_STALL_MS). Only meaningful where every answer
   * is 2xx.
   */
  async deferredAttempts(): Promise<number> {
    const r = await sql<{ n: number }>`select count(*)::int as n from webhooks.attempts where due_at is not null`.execute(this.db.db);
    return r.rows[0]!.n;
  }

  /** Waits (up to `timeoutMs`) until the log shows `expected` successes; returns the count seen last. */
  async waitRecorded(expected: number, timeoutMs = 30_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    let n = 0;
    while (Date.now() < deadline) {
      n = await this.succeededInLog();
      if (n >= expected) return n;
      await new Promise((r) => setTimeout(r, 200));
    }
    return n;
  }

  /** Stops the process if it still runs, drops the database and marks the run's topics for deletion. */
  async cleanup(): Promise<void> {
    await Promise.all(this.processes.map((p) => p.kill()));
    await this.db.drop().catch(() => {});
    const mine = (await this.#ctx.kafka.admin.listTopics()).filter((t) => t.startsWith(`${this.#topicId}.`));
    for (const t of mine) this.#ctx.topicsToDelete.add(t);
  }
}

/**
 * Polls the receiver until `paths` have `expected` 2xx answers, printing progress every second.
 * Fails if the dispatcher exits or nothing new arrives for `stallMs`.
 */
export async function watchDeliveries(
  ctx: BenchContext,
  run: DispatcherRun | null,
  options: {
    label: string;
    paths: readonly string[];
    expected: number;
    produced?: () => number;
    producedOf?: number;
    stallMs?: number;
    /** The producer's failure, if it failed: the wait ends with it at once (not as a stall later). */
    produceError?: () => unknown;
  },
): Promise<void> {
  const stallMs = options.stallMs ?? 60_000;
  let last = -1;
  let lastChange = Date.now();
  let prevCount = 0;
  let prevAt = performance.now();
  let lastPrint = 0;
  for (;;) {
    const n = await ctx.receiver.ok(options.paths);
    const now = performance.now();
    if (now - lastPrint >= 1000 || n >= options.expected) {
      const rate = ((n - prevCount) * 1000) / Math.max(1, now - prevAt);
      const produced = options.produced ? ` · produced ${fmtInt(options.produced())}/${fmtInt(options.producedOf)}` : '';
      ctx.progress(`[${options.label}]${produced} · delivered ${fmtInt(n)}/${fmtInt(options.expected)} · ${fmtInt(rate)}/s`);
      prevCount = n;
      prevAt = now;
      lastPrint = now;
    }
    if (n >= options.expected) return;
    const produceError = options.produceError?.();
    if (produceError)
      throw new Error(
        `[${options.label}] producing failed (${n} of ${options.expected} delivered): ${produceError instanceof Error ? produceError.message : String(produceError)}`,
        { cause: produceError },
      );
    if (n !== last) {
      last = n;
      lastChange = Date.now();
    } else if (Date.now() - lastChange > stallMs) {
      throw new Error(
        `[${options.label}] no delivery for ${stallMs / 1000} s (${n} of ${options.expected})${run ? `; dispatcher output:\n${run.output.slice(-2000)}` : ''}`,
      );
    }
    if (run?.exited) throw new Error(`[${options.label}] the dispatcher exited:\n${run.output.slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
