import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../support/child-service.ts';

const root = new URL('../../', import.meta.url).pathname;

/**
 * One dispatcher process (`node src/main.ts`) of the campaign's group, under a small supervisor:
 * when it exits without being asked to (a crash, or a start that failed while a dependency was
 * down), it is started again after a second, as Kubernetes would.
 */
export class Member {
  readonly name: string;
  readonly #env: Record<string, string>;
  readonly #log: WriteStream;
  #child: ChildProcess | null = null;
  #exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> = Promise.resolve({ code: 0, signal: null });
  #wanted = false;
  #port = 0;
  /** Exits nobody asked for. */
  unexpectedExits = 0;
  #restarting: Promise<void> | null = null;

  constructor(name: string, env: Record<string, string>, logDir: string) {
    this.name = name;
    this.#env = env;
    this.#log = createWriteStream(path.join(logDir, `${name}.log`), { flags: 'a' });
  }

  get running(): boolean {
    return this.#child !== null && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  async #spawn(): Promise<void> {
    this.#port ||= await freePort();
    const child = spawn(process.execPath, ['src/main.ts'], {
      cwd: root,
      env: {
        PATH: process.env.PATH ?? '',
        ...this.#env,
        HTTP_PORT: String(this.#port),
        HTTP_HOST: '127.0.0.1',
        KAFKA_CLIENT_ID: this.name,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.pipe(this.#log, { end: false });
    child.stderr?.pipe(this.#log, { end: false });
    this.#child = child;
    this.#exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    void this.#exited.then(({ code, signal }) => {
      this.#log.write(`--- chaos: ${this.name} exited (code ${code}, signal ${signal})\n`);
      if (this.#wanted && this.#child === child) {
        this.unexpectedExits++;
        this.#restarting = sleep(1000).then(() => (this.#wanted && this.#child === child ? this.#spawn() : undefined));
      }
    });
  }

  async start(): Promise<void> {
    this.#wanted = true;
    await this.#spawn();
  }

  /** True once /readyz answers 200. */
  async ready(): Promise<boolean> {
    if (!this.running) return false;
    const res = await fetch(`http://127.0.0.1:${this.#port}/readyz`, { signal: AbortSignal.timeout(2000) }).catch(() => null);
    return res?.status === 200;
  }

  /** What /readyz says (its checks), for a report on a member that stays unready. */
  async readiness(): Promise<string> {
    if (!this.running) return 'not running';
    const res = await fetch(`http://127.0.0.1:${this.#port}/readyz`, { signal: AbortSignal.timeout(2000) }).catch((err: unknown) =>
      String(err),
    );
    return typeof res === 'string' ? res : `${res.status} ${(await res.text()).slice(0, 300)}`;
  }

  /** Sends a signal and waits for the exit (SIGKILL after `graceMs`); returns how it ended. */
  async stop(signal: NodeJS.Signals, graceMs = 30_000): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }> {
    this.#wanted = false;
    await this.#restarting;
    const started = Date.now();
    if (!this.running) return { code: this.#child?.exitCode ?? null, signal: this.#child?.signalCode ?? null, ms: 0 };
    this.#child!.kill(signal);
    const timer = setTimeout(() => this.#child?.kill('SIGKILL'), graceMs);
    const exit = await this.#exited;
    clearTimeout(timer);
    return { ...exit, ms: Date.now() - started };
  }

  stopSync(): void {
    this.#wanted = false;
    if (this.running) this.#child!.kill('SIGKILL');
  }

  closeLog(): void {
    this.#log.end();
  }
}
