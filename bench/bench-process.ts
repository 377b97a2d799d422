/**
 * A child process of the bench (a dispatcher, or the hand-rolled baseline): spawned with its own
 * environment only, its whole output kept in a log file, and killed if the bench driver exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { snapshot, type ProcessSnapshot } from './process-stats.ts';

const root = new URL('../', import.meta.url).pathname;

/**
 * Where the processes' logs go: one directory per checkout (a hash of its root in the name), so
 * two checkouts benching at once on one machine never mix their logs.
 */
export const BENCH_LOG_DIR = path.join(
  os.tmpdir(),
  `dialer-webhooks-bench-${createHash('sha256').update(root).digest('hex').slice(0, 12)}`,
);

// Processes alive now, so an interrupted bench can kill them on its way out.
const live = new Set<ChildProcess>();

/** SIGKILLs every process this bench started that still runs. */
export function killAllBenchProcesses(): void {
  for (const c of live) c.kill('SIGKILL');
}

export class BenchProcess {
  readonly label: string;
  readonly #child: ChildProcess;
  readonly #exited: Promise<number | null>;
  #exitCode: number | null | undefined = undefined;
  output = '';
  /** Where the process's whole output goes. */
  readonly logFile: string;

  /** Spawns `node ...args` in the repository root with exactly `env` (plus PATH). */
  constructor(label: string, args: string[], env: Record<string, string>) {
    this.label = label;
    const child = spawn(process.execPath, args, {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#child = child;
    live.add(child);
    mkdirSync(BENCH_LOG_DIR, { recursive: true });
    this.logFile = path.join(BENCH_LOG_DIR, `${label}-${child.pid}.log`);
    const log = createWriteStream(this.logFile);
    const keep = (d: Buffer): void => {
      log.write(d);
      this.output = (this.output + d.toString()).slice(-8000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.#exited = new Promise((resolve) =>
      child.on('exit', (code) => {
        log.end();
        this.#exitCode = code;
        live.delete(child);
        resolve(code);
      }),
    );
  }

  get pid(): number {
    return this.#child.pid ?? 0;
  }

  /** True once the process has exited. */
  get exited(): boolean {
    return this.#exitCode !== undefined;
  }

  snapshot(): ProcessSnapshot | null {
    return this.pid && !this.exited ? snapshot(this.pid) : null;
  }

  /** Polls `ready` every 100 ms until it is true; fails if the process exits or `timeoutMs` passes. */
  async waitReady(ready: () => Promise<boolean>, timeoutMs = 90_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.exited) throw new Error(`${this.label} exited during start:\n${this.output.slice(-3000)}`);
      if (await ready().catch(() => false)) return;
      if (Date.now() > deadline) throw new Error(`${this.label} not ready after ${timeoutMs / 1000} s:\n${this.output.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** SIGTERM and wait for the exit (SIGKILL after `graceMs`). Returns the exit code. */
  async stop(graceMs = 40_000): Promise<number | null> {
    if (!this.exited) this.#child.kill('SIGTERM');
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), graceMs);
    const code = await this.#exited;
    clearTimeout(timer);
    return code;
  }

  async kill(): Promise<void> {
    if (!this.exited) this.#child.kill('SIGKILL');
    await this.#exited;
  }
}
