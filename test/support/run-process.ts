import { spawn } from 'node:child_process';

export interface ProcessRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

const root = new URL('../../', import.meta.url).pathname;

/**
 * Runs a program to its end from the repository root with only PATH and `env` in its environment
 * (so nothing of the test runner's leaks in), optionally feeding `stdin`; collects its output.
 */
export function runProcess(cmd: string, args: string[], options: { env: Record<string, string>; stdin?: Buffer }): Promise<ProcessRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', ...options.env },
      stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    if (options.stdin) child.stdin!.end(options.stdin);
  });
}
