import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** Name of the environment variable that marks every process a campaign starts with its dir. */
export const RUN_MARKER = 'DIALER_CHAOS_RUN';
export const RUN_PREFIX = 'dialer-chaos-';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Marks `dir` as owned by this process, so a later campaign can tell a dead run's leftovers. */
export async function claimRunDir(dir: string): Promise<void> {
  await writeFile(path.join(dir, 'owner.pid'), String(process.pid));
}

/**
 * Stops what a campaign that died without cleaning up (SIGKILL, a killed test runner) left
 * behind: processes whose environment carries its dir as `DIALER_CHAOS_RUN` (broker, members),
 * its Postgres (by postmaster.pid), and the dir. Runs whose owner is alive are left alone.
 */
export async function sweepStaleRuns(log: (line: string) => void): Promise<void> {
  const tmp = os.tmpdir();
  for (const name of readdirSync(tmp).filter((n) => n.startsWith(RUN_PREFIX))) {
    const dir = path.join(tmp, name);
    const ownerFile = path.join(dir, 'owner.pid');
    if (!existsSync(ownerFile)) continue; // being set up, kept after a failure, or not ours
    const owner = Number(readFileSync(ownerFile, 'utf8'));
    if (owner > 0 && alive(owner)) continue;
    for (const p of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
      try {
        const environ = readFileSync(`/proc/${p}/environ`, 'utf8').split('\0');
        if (environ.includes(`${RUN_MARKER}=${dir}`)) process.kill(Number(p), 'SIGKILL');
      } catch {
        // Gone meanwhile, or not readable: not ours.
      }
    }
    try {
      const pid = Number(readFileSync(path.join(dir, 'postgres/data/postmaster.pid'), 'utf8').split('\n')[0]);
      if (pid > 0) process.kill(pid, 'SIGQUIT');
    } catch {
      // No Postgres left.
    }
    log(`chaos: removed the leftovers of a dead campaign in ${dir}`);
    await rm(dir, { recursive: true, force: true });
  }
}
