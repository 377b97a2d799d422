/**
 * Finds the processes of the services the bench uses on this machine, so their CPU can be read
 * from /proc: the Postgres postmaster (whose tree is the cluster) and the Kafka broker's JVM. A
 * process is taken only once it is proved to be the one the bench talks to (the parent of this
 * connection's backend; the owner of the broker's listening socket), so when the services run
 * elsewhere (a container, another machine) the reading is absent, never another process's.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import pg from 'pg';
import { readPidStat } from './process-stats.ts';

export type Location = { pid: number; starttime: number; how: string } | { pid: null; absent: string };

/** The fields of a postmaster.pid file (first line the pid, second the data directory, fourth the port). */
export function parsePostmasterPid(text: string): { pid: number; dataDir: string; port: number } {
  const lines = text.split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!/^\d+$/.test(lines[0] ?? '') || pid <= 0) throw new Error(`postmaster.pid: first line ${JSON.stringify(lines[0])} is not a pid`);
  if (!/^\d+$/.test(lines[3] ?? '')) throw new Error(`postmaster.pid: fourth line ${JSON.stringify(lines[3])} is not a port`);
  return { pid, dataDir: lines[1] ?? '', port };
}

/** The data directory of the online cluster on `port` in `pg_lsclusters --no-header` output (Debian), or null. */
export function dataDirOfPort(lsclusters: string, port: number): string | null {
  for (const line of lsclusters.split('\n')) {
    // Ver Cluster Port Status Owner Data-directory Log-file
    const [, , p, status, , dir] = line.trim().split(/\s+/);
    if (Number(p) === port && status?.startsWith('online') && dir) return dir;
  }
  return null;
}

/**
 * Inodes of the sockets listening on TCP `port` in a /proc/net/tcp or /proc/net/tcp6 text
 * (columns: sl, local_address as HEXIP:HEXPORT, rem_address, st with 0A = LISTEN, …, inode 10th).
 */
export function listeningInodes(procNetTcp: string, port: number): number[] {
  const out: number[] = [];
  for (const line of procNetTcp.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    const local = cols[1];
    if (!local || cols[3] !== '0A') continue;
    if (parseInt(local.slice(local.lastIndexOf(':') + 1), 16) === port) out.push(Number(cols[9]));
  }
  return out.filter((i) => Number.isSafeInteger(i) && i > 0);
}

/** The inode of a `/proc/PID/fd/N` link that names a socket (`socket:[12345]`), else null. */
export function socketInode(link: string): number | null {
  const m = /^socket:\[(\d+)\]$/.exec(link);
  return m ? Number(m[1]) : null;
}

/** True for a host name or address that is this machine (loopback), or a Unix socket directory. */
export function isLocalHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '');
  return h === '' || h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h) || h.startsWith('/');
}

/**
 * The first candidate `[pid, how found]` that is `parent`, the parent process of the server's
 * backend `backend` as /proc shows it (null: no such process here); else why none is.
 */
export function backendParent(
  candidates: ReadonlyArray<readonly [number, string]>,
  backend: number,
  parent: number | null,
): { pid: number; how: string } | string {
  for (const [pid, how] of candidates) if (pid === parent) return { pid, how: `${how}; parent of this connection's backend ${backend}` };
  if (candidates.length === 0) return 'no process named postgres here';
  if (parent === null) return `its backend ${backend} is no process here (a container's or another machine's pid)`;
  return candidates
    .map(([pid, how]) => `pid ${pid} (${how}) is not the parent (${parent}) of this connection's backend ${backend}`)
    .join('; ');
}

function pgrep(args: string[]): number[] {
  try {
    return execFileSync('pgrep', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
      .split('\n')
      .filter((l) => /^\d+$/.test(l))
      .map(Number)
      .filter((p) => p !== process.pid);
  } catch {
    return []; // pgrep exits 1 when nothing matches; missing pgrep finds nothing too
  }
}

function found(pid: number, how: string): Location {
  const s = readPidStat(pid);
  return s ? { pid, starttime: s.starttime, how } : { pid: null, absent: `pid ${pid} vanished while it was being checked` };
}

/**
 * The postmaster of the server at `databaseUrl`: from the postmaster.pid of its data directory
 * when that is known (Debian's pg_lsclusters names the cluster on the server's port, as
 * scripts/services-up.sh starts it), else `pgrep -o -x postgres`; taken only if it is the parent
 * of the backend serving a connection opened here.
 */
export async function locatePostgres(databaseUrl: string): Promise<Location> {
  const url = new URL(databaseUrl);
  if (!isLocalHost(url.hostname)) return { pid: null, absent: `Postgres is at ${url.hostname}, not on this machine` };
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const r = await client.query<{ pid: number; port: string }>(`select pg_backend_pid() as pid, current_setting('port') as port`);
    const backend = r.rows[0]!.pid;
    const port = Number(r.rows[0]!.port);
    const parent = readPidStat(backend)?.ppid ?? null;
    const tried: string[] = [];
    const candidates: Array<[number, string]> = [];
    try {
      const lsclusters = execFileSync('pg_lsclusters', ['--no-header'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      const dir = dataDirOfPort(lsclusters, port);
      if (dir) candidates.push([parsePostmasterPid(readFileSync(`${dir}/postmaster.pid`, 'utf8')).pid, `${dir}/postmaster.pid`]);
    } catch (err) {
      tried.push(`no postmaster.pid of a known data directory (${err instanceof Error ? err.message.split('\n')[0] : String(err)})`);
    }
    const oldest = pgrep(['-o', '-x', 'postgres'])[0];
    if (oldest !== undefined) candidates.push([oldest, 'pgrep -o -x postgres']);
    const chosen = backendParent(candidates, backend, parent);
    if (typeof chosen !== 'string') return found(chosen.pid, chosen.how);
    return {
      pid: null,
      absent: `the Postgres on port ${port} is not a process of this machine that can be read: ${[...tried, chosen].join('; ')}`,
    };
  } finally {
    await client.end();
  }
}

/**
 * The broker's JVM: of the processes `pgrep -f kafka.Kafka` finds, the one holding the socket
 * that listens on the port of the first of `brokers` (host:port), which must be on this machine.
 */
export function locateBroker(brokers: readonly string[]): Location {
  const first = brokers[0] ?? '';
  const colon = first.lastIndexOf(':');
  const host = first.slice(0, colon);
  const port = Number(first.slice(colon + 1));
  if (colon < 0 || !Number.isInteger(port) || port <= 0)
    return { pid: null, absent: `broker address ${JSON.stringify(first)} is not host:port` };
  if (!isLocalHost(host)) return { pid: null, absent: `the broker is at ${host}, not on this machine` };
  const inodes = new Set<number>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    try {
      for (const i of listeningInodes(readFileSync(file, 'utf8'), port)) inodes.add(i);
    } catch {
      // no IPv6, or no /proc/net
    }
  }
  if (inodes.size === 0)
    return { pid: null, absent: `no socket of this network namespace listens on port ${port} (a container's broker?)` };
  const candidates = pgrep(['-f', 'kafka.Kafka']);
  for (const pid of candidates) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // not ours to read, or gone
    }
    for (const fd of fds) {
      let link: string;
      try {
        link = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      const inode = socketInode(link);
      if (inode !== null && inodes.has(inode)) return found(pid, `pgrep -f kafka.Kafka; listens on ${host}:${port}`);
    }
  }
  return {
    pid: null,
    absent: `none of the kafka.Kafka processes found (${candidates.join(', ') || 'none'}) holds the socket listening on port ${port}`,
  };
}
