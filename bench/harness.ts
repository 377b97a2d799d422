/**
 * What every scenario needs: a dispatcher as a real process (`node src/main.ts`) with a database
 * of its own (cloned from the migrated template), its own topics and consumer group, endpoints
 * on the bench receiver, and a way to watch deliveries arrive.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { createTestDatabase, type TestDatabase } from '../test/support/database.ts';
import { freePort } from '../test/support/ports.ts';
import type { TestKafka } from '../test/support/kafka.ts';
import { testEnv } from '../test/support/service.ts';
import type { BenchArgs } from './args.ts';
import { snapshot, type ProcessSnapshot } from './process-stats.ts';
import type { ReceiverClient, RouteBehaviour } from './receiver.ts';
import { fmtInt } from './stats.ts';

const root = new URL('../', import.meta.url).pathname;

// Dispatcher processes alive now, so an interrupted bench can kill them on its way out.
const live = new Set<ChildProcess>();

/** SIGKILLs every dispatcher process this bench started that still runs. */
export function killAllDispatchers(): void {
  for (const c of live) c.kill('SIGKILL');
}

export const SECRET = 'whsec_' + Buffer.alloc(32, 7).toString('base64');

export interface BenchContext {
  args: BenchArgs;
  kafka: TestKafka;
  receiver: ReceiverClient;
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

/** One dispatcher process and everything it owns, set up for one run. */
export class DispatcherRun {
  readonly label: string;
  readonly env: Record<string, string>;
  readonly db: TestDatabase;
  readonly endpoints: EndpointSpec[];
  readonly #ctx: BenchContext;
  readonly #topicId: string;
  #child: ChildProcess | null = null;
  #exited: Promise<number | null> | null = null;
  #exitCode: number | null | undefined = undefined;
  output = '';
  port = 0;
  /** Where the dispatcher's whole output (its pino log) goes. */
  logFile = '';

  private constructor(ctx: BenchContext, label: string, db: TestDatabase, env: Record<string, string>, endpoints: EndpointSpec[]) {
    this.#ctx = ctx;
    this.label = label;
    this.db = db;
    this.env = env;
    this.endpoints = endpoints;
    this.#topicId = env.INPUT_TOPICS!.replace(/\.events$/, '');
  }

  /** Database, receiver routes, endpoint rows and the input topic (3 partitions); no process yet. */
  static async setup(
    ctx: BenchContext,
    label: string,
    endpoints: EndpointSpec[],
    overrides: Record<string, string> = {},
  ): Promise<DispatcherRun> {
    const db = await createTestDatabase(`bench_${label}`);
    // The benchmark's receivers are plain-http servers on loopback: allowed here on purpose.
    const env = testEnv(db.url, `bench-${label}`, {
      LOG_LEVEL: 'warn',
      LAG_POLL_INTERVAL_MS: '15000',
      REQUIRE_HTTPS: 'false',
      DELIVERY_ALLOW_NETWORKS: '127.0.0.0/8',
      ...overrides,
    });
    await ctx.receiver.routes(Object.fromEntries(endpoints.map((e) => [e.path, e.behaviour])));
    for (const [i, e] of endpoints.entries()) {
      await db.db
        .insertInto('webhooks.endpoints')
        .values({ name: `bench-${e.path.slice(1)}`, url: ctx.receiver.url(i, e.path), secret: SECRET, event_types: ['call.ended'] })
        .execute();
    }
    await ctx.kafka.createTopic(env.INPUT_TOPICS!, 3);
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

  get pid(): number {
    return this.#child?.pid ?? 0;
  }

  /** True once the process has exited. */
  get exited(): boolean {
    return this.#exitCode !== undefined;
  }

  /** Spawns the dispatcher and waits until /readyz answers 200 (consumers joined). */
  async start(nodeArgs: string[] = []): Promise<void> {
    this.port = await freePort();
    const child = spawn(process.execPath, [...this.#ctx.args.nodeArgs, ...nodeArgs, 'src/main.ts'], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', ...this.env, HTTP_PORT: String(this.port), HTTP_HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#child = child;
    live.add(child);
    const dir = path.join(os.tmpdir(), 'dialer-webhooks-bench');
    mkdirSync(dir, { recursive: true });
    this.logFile = path.join(dir, `${this.label}-${child.pid}.log`);
    const log = createWriteStream(this.logFile);
    const keep = (d: Buffer): void => {
      log.write(d);
      this.output = (this.output + d.toString()).slice(-8000);
    };
    child.on('exit', () => log.end());
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.#exited = new Promise((resolve) =>
      child.on('exit', (code) => {
        this.#exitCode = code;
        live.delete(child);
        resolve(code);
      }),
    );
    const deadline = Date.now() + 90_000;
    for (;;) {
      if (this.exited) throw new Error(`dispatcher (${this.label}) exited during start:\n${this.output.slice(-3000)}`);
      const res = await fetch(`http://127.0.0.1:${this.port}/readyz`).catch(() => null);
      if (res?.status === 200) return;
      if (Date.now() > deadline) throw new Error(`dispatcher (${this.label}) not ready after 90 s:\n${this.output.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  snapshot(): ProcessSnapshot | null {
    return this.pid ? snapshot(this.pid) : null;
  }

  /** SIGTERM and wait for the exit (SIGKILL after `graceMs`). Returns the exit code. */
  async stop(graceMs = 40_000): Promise<number | null> {
    if (!this.#child || !this.#exited) return null;
    if (!this.exited) this.#child.kill('SIGTERM');
    const timer = setTimeout(() => this.#child?.kill('SIGKILL'), graceMs);
    const code = await this.#exited;
    clearTimeout(timer);
    return code;
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
    if (this.#child && !this.exited) {
      this.#child.kill('SIGKILL');
      await this.#exited;
    }
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
  options: { label: string; paths: readonly string[]; expected: number; produced?: () => number; producedOf?: number; stallMs?: number },
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
