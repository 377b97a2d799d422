import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from './ports.ts';
import { waitFor } from './wait-for.ts';

// Re-exported for the callers that took it from here (test/chaos/).
export { freePort };

const root = new URL('../../', import.meta.url).pathname;

/** The dispatcher as a real process (`node src/main.ts`), for crash and signal tests. */
export class ChildService {
  readonly #child: ChildProcess;
  readonly port: number;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output = '';

  private constructor(child: ChildProcess, port: number) {
    this.#child = child;
    this.port = port;
    child.stdout?.on('data', (d: Buffer) => (this.output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (this.output += d.toString()));
    this.exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  }

  /** Starts it and waits until /readyz answers 200. */
  static async start(env: Record<string, string>): Promise<ChildService> {
    const port = await freePort();
    const child = spawn(process.execPath, ['src/main.ts'], {
      cwd: root,
      env: {
        PATH: process.env.PATH ?? '',
        ...env,
        HTTP_PORT: String(port),
        HTTP_HOST: '127.0.0.1',
        LOG_LEVEL: env.LOG_LEVEL === 'silent' ? 'warn' : (env.LOG_LEVEL ?? 'warn'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const svc = new ChildService(child, port);
    let exited = false;
    void svc.exited.then(() => (exited = true));
    await waitFor(
      async () => {
        if (exited) throw new Error(`dispatcher exited during start:\n${svc.output.slice(-3000)}`);
        const res = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null);
        return res?.status === 200;
      },
      { timeoutMs: 60_000, intervalMs: 100, what: 'the dispatcher to be ready' },
    );
    return svc;
  }

  kill(signal: NodeJS.Signals): void {
    this.#child.kill(signal);
  }
}
