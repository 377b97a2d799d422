/**
 * CPU time and memory of processes and of the machine, read from /proc (Linux). The parsers are
 * pure (text in, numbers out) so the unit tests feed them fixed strings; the readers return null
 * when the process is gone or /proc cannot be read.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

let ticksPerSecond: number | null = null;

/** Clock ticks per second (`getconf CLK_TCK`, the unit of /proc/PID/stat and /proc/stat; 100 if unknown). */
export function clockTicks(): number {
  if (ticksPerSecond === null) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** The fields of /proc/PID/stat the bench uses; times in clock ticks. */
export interface PidStat {
  pid: number;
  /** The command name between the parentheses (it may itself hold spaces and parentheses). */
  comm: string;
  /** R, S, D, Z (zombie: exited, not yet reaped by its parent) … */
  state: string;
  ppid: number;
  utime: number;
  stime: number;
  /** CPU of children this process has waited for (reaped), user and system. */
  cutime: number;
  cstime: number;
  /** Ticks after boot the process started: with the pid it names one process (pids are reused). */
  starttime: number;
}

/**
 * Parses one /proc/PID/stat text. The comm is whatever lies between the first "(" and the LAST
 * ")", since a comm like "a) (b" is legal; the numbered fields (state is field 3, utime 14, stime
 * 15, cutime 16, cstime 17, starttime 22) follow the last ")".
 */
export function parsePidStat(text: string): PidStat {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  const pid = Number(text.slice(0, open).trim());
  if (open < 1 || close < open || !Number.isSafeInteger(pid) || pid <= 0)
    throw new Error(`not a /proc/PID/stat text: ${JSON.stringify(text.slice(0, 80))}`);
  const fields = text
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  const field = (n: number, name: string): number => {
    const raw = fields[n - 3];
    const v = Number(raw);
    if (raw === undefined || !/^-?\d+$/.test(raw) || !Number.isSafeInteger(v))
      throw new Error(`/proc/${pid}/stat: field ${n} (${name}) is ${JSON.stringify(raw)}, not a whole number`);
    return v;
  };
  return {
    pid,
    comm: text.slice(open + 1, close),
    state: fields[0] ?? '',
    ppid: field(4, 'ppid'),
    utime: field(14, 'utime'),
    stime: field(15, 'stime'),
    cutime: field(16, 'cutime'),
    cstime: field(17, 'cstime'),
    starttime: field(22, 'starttime'),
  };
}

/** The machine's CPU time from the aggregate `cpu` line of /proc/stat, in clock ticks. */
export interface MachineTicks {
  user: number;
  nice: number;
  system: number;
  idle: number;
  iowait: number;
  irq: number;
  softirq: number;
  /** Time a hypervisor ran something else while this machine wanted the CPU. */
  steal: number;
  /** user + nice + system + irq + softirq + steal (guest time is already inside user and nice). */
  busy: number;
  /** busy + idle + iowait: every core's time. */
  total: number;
}

const MACHINE_FIELDS = ['user', 'nice', 'system', 'idle', 'iowait', 'irq', 'softirq', 'steal'] as const;

/** Parses the `cpu` line (all cores together) of a /proc/stat text. */
export function parseMachineStat(text: string): MachineTicks {
  const line = text.split('\n').find((l) => /^cpu\s/.test(l));
  if (!line) throw new Error('/proc/stat has no aggregate "cpu" line');
  const values = line.trim().split(/\s+/).slice(1);
  const t = {} as Record<(typeof MACHINE_FIELDS)[number], number>;
  for (const [i, name] of MACHINE_FIELDS.entries()) {
    const raw = values[i];
    if (raw === undefined || !/^\d+$/.test(raw))
      throw new Error(`/proc/stat: the cpu line's ${name} is ${JSON.stringify(raw)}, not a whole number`);
    t[name] = Number(raw);
  }
  const busy = t.user + t.nice + t.system + t.irq + t.softirq + t.steal;
  return { ...t, busy, total: busy + t.idle + t.iowait };
}

/**
 * CPU ticks of a process tree one level deep, as a Postgres cluster is: the postmaster's own
 * (utime + stime) and its reaped children's (cutime + cstime), plus each live child's utime +
 * stime (backends, walwriter, checkpointer …; a zombie not yet reaped still counts as a child).
 * A child that exits between two readings moves from the second sum to the first when reaped, so
 * the difference of two readings is the cluster's CPU in between. Null when `parent` is not among
 * `stats`.
 */
export function treeTicks(parent: number, stats: readonly PidStat[]): number | null {
  let own: PidStat | null = null;
  let children = 0;
  for (const s of stats) {
    if (s.pid === parent) own = s;
    else if (s.ppid === parent) children += s.utime + s.stime;
  }
  return own ? own.utime + own.stime + own.cutime + own.cstime + children : null;
}

/** /proc/PID/stat of one process, or null when it is gone. */
export function readPidStat(pid: number): PidStat | null {
  try {
    return parsePidStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return null;
  }
}

/** /proc/PID/stat of every process now (those that exit while being read are left out). */
export function readAllPidStats(): PidStat[] {
  const out: PidStat[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = readPidStat(Number(name));
    if (s) out.push(s);
  }
  return out;
}

/** The machine's CPU ticks now, or null when /proc/stat cannot be read. */
export function readMachineTicks(): MachineTicks | null {
  try {
    return parseMachineStat(readFileSync('/proc/stat', 'utf8'));
  } catch {
    return null;
  }
}

export interface ProcessSnapshot {
  /** User + system CPU seconds since the process started. */
  cpuS: number;
  /** Resident set size now, MB. */
  rssMb: number;
  /** Peak resident set size so far (VmHWM), MB. */
  peakRssMb: number;
}

/** Null when the process is gone. */
export function snapshot(pid: number): ProcessSnapshot | null {
  try {
    const stat = parsePidStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    const cpuS = (stat.utime + stat.stime) / clockTicks();
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { cpuS, rssMb: kb('VmRSS') / 1024, peakRssMb: kb('VmHWM') / 1024 };
  } catch {
    return null;
  }
}

/** Samples VmRSS of `pid` every `intervalMs` until stopped. */
export class RssSampler {
  readonly #pid: number;
  readonly #timer: NodeJS.Timeout;
  readonly #startedAt = Date.now();
  readonly series: Array<[seconds: number, rssMb: number]> = [];
  maxRssMb = 0;

  constructor(pid: number, intervalMs = 250) {
    this.#pid = pid;
    this.#timer = setInterval(() => this.sample(), intervalMs);
    this.sample();
  }

  sample(): void {
    const s = snapshot(this.#pid);
    if (!s) return;
    this.maxRssMb = Math.max(this.maxRssMb, s.rssMb);
    this.series.push([(Date.now() - this.#startedAt) / 1000, Math.round(s.rssMb * 10) / 10]);
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** At most `points` samples, evenly spread (for the JSON). */
  downsampled(points = 60): Array<[number, number]> {
    if (this.series.length <= points) return this.series;
    const step = this.series.length / points;
    return Array.from({ length: points }, (_, i) => this.series[Math.floor(i * step)]!);
  }
}
