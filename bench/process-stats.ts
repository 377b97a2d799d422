/** CPU time and memory of another process, read from /proc (Linux). */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let ticksPerSecond: number | null = null;

function clockTicks(): number {
  if (ticksPerSecond === null) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
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
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after "(comm)", which may itself hold spaces: state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpuS = (Number(fields[11]) + Number(fields[12])) / clockTicks();
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
