/**
 * Box accounting: what one delivery costs the whole machine, by process, over exactly a run's
 * measured interval. The dispatcher, Postgres, the broker, the receiver and the bench driver all
 * share this box's cores, so the throughput a run can reach is bounded by the CPU all of them need
 * per delivery; comparing that sum with the raw loop's says what ratio the box allows before any
 * waiting (docs/benchmark.md, "Reading the table").
 */
import { locateBroker, locatePostgres, type Location } from './box-locate.ts';
import { clockTicks, readAllPidStats, readMachineTicks, readPidStat, treeTicks, type MachineTicks } from './process-stats.ts';
import { round } from './stats.ts';

/** The processes of the box accounting. `service`: the dispatcher(s), or the hand-rolled consumer. */
export const BOX_PARTS = ['service', 'postgres', 'broker', 'receiver', 'driver'] as const;
export type BoxPart = (typeof BOX_PARTS)[number];

/** A service run uses every part; the raw undici loop only the driver (where it runs) and the receiver. */
export const SERVICE_PARTS: readonly BoxPart[] = BOX_PARTS;
export const RAW_LOOP_PARTS: readonly BoxPart[] = ['driver', 'receiver'];

type MachineField = Exclude<keyof MachineTicks, 'busy' | 'total'>;

export interface BoxCpu {
  /** Wall-clock seconds between the two readings. */
  seconds: number;
  deliveries: number;
  /** The parts this run's work runs in; `box` adds up these and `other` is the rest of the machine. */
  counted: BoxPart[];
  /**
   * CPU seconds over the interval, null where the process could not be read (see `absent`). A part
   * not counted is still read (the broker and Postgres during a raw loop: other clients' work).
   */
  cpuS: Record<BoxPart, number | null> & { machineBusy: number | null; machineTotal: number | null };
  /** The machine's /proc/stat columns over the interval, s. */
  machineS: Record<MachineField, number> | null;
  /** µs per delivery of each counted part, their sum (`box`), the machine's busy and total time, and `other` = busy − box. */
  usPerDelivery: Record<BoxPart, number | null> & {
    box: number | null;
    other: number | null;
    machineBusy: number | null;
    machineTotal: number | null;
  };
  /** Machine busy / total over the interval (1 = every core busy all the time). */
  machineBusyShare: number | null;
  /** Cores the machine counted (total / seconds) over `box` µs: the deliveries/s the box allows, CPU only. */
  boxAllowsPerS: number | null;
  /**
   * Cores other processes left this run: (total − other) / seconds. On a shared machine other
   * people's work takes some of the cores, and not the same share in every run.
   */
  coresLeft: number | null;
  /** `coresLeft` over `box` µs: the deliveries/s the CPU left to this run allows. */
  leftAllowsPerS: number | null;
  /** Why a reading is missing, by part. */
  absent: Partial<Record<BoxPart | 'machine', string>>;
}

/** A reading of every part at one moment (`BoxMeter.mark`). */
export interface BoxMark {
  atMs: number;
  machine: MachineTicks | null;
  postgres: number | null;
  broker: number | null;
  receiver: number | null;
  /** The driver's CPU read first and last, so the mark's own /proc scan is left out of the interval. */
  driverBefore: NodeJS.CpuUsage;
  driverAfter: NodeJS.CpuUsage;
}

/** What a located process is now, or null if it is gone or is no longer the same process (pid reused). */
function ticksOf(loc: Location, read: (pid: number) => number | null): number | null {
  if (loc.pid === null) return null;
  const s = readPidStat(loc.pid);
  return s && s.starttime === loc.starttime ? read(loc.pid) : null;
}

/** CPU of two readings' difference, s; null if either is missing. */
function delta(a: number | null, b: number | null, tick: number): number | null {
  return a === null || b === null ? null : round((b - a) / tick, 3);
}

/**
 * Pure: the accounting of one interval from the CPU seconds of each part. `usPerDelivery` of a
 * part not counted is null (it did none of this run's work); `box` is null when a counted part
 * could not be read, so a missing reading never passes for a cheap one.
 */
export function boxAccount(o: {
  seconds: number;
  deliveries: number;
  counted: readonly BoxPart[];
  cpuS: BoxCpu['cpuS'];
  machineS: BoxCpu['machineS'];
  absent: BoxCpu['absent'];
}): BoxCpu {
  const per = (s: number | null): number | null => (s === null || !(o.deliveries > 0) ? null : round((s * 1e6) / o.deliveries, 1));
  const parts = Object.fromEntries(BOX_PARTS.map((p) => [p, o.counted.includes(p) ? per(o.cpuS[p]) : null])) as Record<
    BoxPart,
    number | null
  >;
  const countedS = o.counted.map((p) => o.cpuS[p]);
  const boxS = countedS.some((s) => s === null) ? null : countedS.reduce<number>((a, b) => a + b!, 0);
  const busy = o.cpuS.machineBusy;
  const total = o.cpuS.machineTotal;
  const coresLeft = boxS === null || busy === null || total === null || !(o.seconds > 0) ? null : (total - (busy - boxS)) / o.seconds;
  return {
    seconds: round(o.seconds, 3),
    deliveries: o.deliveries,
    counted: [...o.counted],
    cpuS: o.cpuS,
    machineS: o.machineS,
    usPerDelivery: {
      ...parts,
      box: per(boxS),
      other: boxS === null || busy === null ? null : per(busy - boxS),
      machineBusy: per(busy),
      machineTotal: per(o.cpuS.machineTotal),
    },
    machineBusyShare: busy !== null && total ? round(busy / total, 3) : null,
    boxAllowsPerS: boxS && total && o.seconds > 0 ? round((total / o.seconds / boxS) * o.deliveries, 0) : null,
    coresLeft: coresLeft === null ? null : round(coresLeft, 3),
    leftAllowsPerS: boxS && coresLeft !== null ? round((coresLeft / boxS) * o.deliveries, 0) : null,
    absent: o.absent,
  };
}

/** Where the services' processes are; one per bench, used by every scenario. */
export class BoxMeter {
  readonly postgres: Location;
  readonly broker: Location;
  readonly receiverPid: number;

  constructor(o: { postgres: Location; broker: Location; receiverPid: number }) {
    this.postgres = o.postgres;
    this.broker = o.broker;
    this.receiverPid = o.receiverPid;
  }

  /** Finds Postgres (at `databaseUrl`) and the broker (the first of `brokers`) on this machine. */
  static async locate(o: { databaseUrl: string; brokers: readonly string[]; receiverPid: number }): Promise<BoxMeter> {
    const postgres = await locatePostgres(o.databaseUrl).catch((err: unknown): Location => ({
      pid: null,
      absent: `could not ask Postgres for its backend: ${err instanceof Error ? err.message : String(err)}`,
    }));
    return new BoxMeter({ postgres, broker: locateBroker(o.brokers), receiverPid: o.receiverPid });
  }

  /** One line for the progress log: what was found, or why not. */
  describe(): string {
    const one = (name: string, l: Location): string =>
      l.pid === null ? `${name} not read (${l.absent})` : `${name} pid ${l.pid} (${l.how})`;
    return `box accounting: ${one('Postgres postmaster', this.postgres)} · ${one('broker', this.broker)} · receiver pid ${this.receiverPid}`;
  }

  /** Reads every part now: call right where a run's measured interval starts, and right where it ends. */
  mark(): BoxMark {
    const driverBefore = process.cpuUsage();
    return {
      driverBefore,
      atMs: performance.now(),
      machine: readMachineTicks(),
      postgres: this.postgres.pid === null ? null : ticksOf(this.postgres, (pid) => treeTicks(pid, readAllPidStats())),
      broker: ticksOf(this.broker, (pid) => {
        const s = readPidStat(pid);
        return s ? s.utime + s.stime : null;
      }),
      receiver: (() => {
        const s = readPidStat(this.receiverPid);
        return s ? s.utime + s.stime : null;
      })(),
      driverAfter: process.cpuUsage(),
    };
  }

  /**
   * Accounts the interval from `start` to `now` (two marks). `serviceCpuS` is the CPU the run
   * measured for its own service process(es) over the same interval (null for the raw loop).
   */
  account(start: BoxMark, now: BoxMark, o: { deliveries: number; serviceCpuS: number | null; counted: readonly BoxPart[] }): BoxCpu {
    const tick = clockTicks();
    const driverS = (now.driverBefore.user + now.driverBefore.system - start.driverAfter.user - start.driverAfter.system) / 1e6;
    const absent: BoxCpu['absent'] = {};
    if (this.postgres.pid === null) absent.postgres = this.postgres.absent;
    else if (start.postgres === null || now.postgres === null)
      absent.postgres = `postmaster ${this.postgres.pid} gone or replaced during the run`;
    if (this.broker.pid === null) absent.broker = this.broker.absent;
    else if (start.broker === null || now.broker === null) absent.broker = `broker ${this.broker.pid} gone or replaced during the run`;
    if (start.receiver === null || now.receiver === null) absent.receiver = `receiver ${this.receiverPid} could not be read`;
    if (o.counted.includes('service') && (o.serviceCpuS === null || !Number.isFinite(o.serviceCpuS)))
      absent.service = 'the service process could not be read';
    const a = start.machine;
    const b = now.machine;
    if (!a || !b) absent.machine = '/proc/stat could not be read';
    const machineS =
      a && b
        ? (Object.fromEntries(
            (['user', 'nice', 'system', 'idle', 'iowait', 'irq', 'softirq', 'steal'] as const).map((k) => [
              k,
              round((b[k] - a[k]) / tick, 3),
            ]),
          ) as Record<MachineField, number>)
        : null;
    return boxAccount({
      seconds: (now.atMs - start.atMs) / 1000,
      deliveries: o.deliveries,
      counted: o.counted,
      cpuS: {
        service: o.serviceCpuS !== null && Number.isFinite(o.serviceCpuS) ? round(o.serviceCpuS, 3) : null,
        postgres: delta(start.postgres, now.postgres, tick),
        broker: delta(start.broker, now.broker, tick),
        receiver: delta(start.receiver, now.receiver, tick),
        driver: round(driverS, 3),
        machineBusy: a && b ? round((b.busy - a.busy) / tick, 3) : null,
        machineTotal: a && b ? round((b.total - a.total) / tick, 3) : null,
      },
      machineS,
      absent,
    });
  }
}

/**
 * The throughput ratio the box allows if both runs were purely CPU-bound on the same cores: the
 * raw loop's box µs per request over the service's box µs per delivery. `cheapService` is the same
 * with the service's own µs replaced by the raw loop's driver µs ("if the dispatcher cost what the
 * raw loop does"), `cheapBoxUs` that box. The `…Left` forms scale both by the cores other
 * processes left each run (`coresLeft`): on a shared machine the two runs do not get the same
 * CPU, and only these stay bounds there. Null where either box is unknown.
 */
export function boxBound(
  service: BoxCpu | undefined,
  raw: BoxCpu | undefined,
): {
  bound: number | null;
  cheapService: number | null;
  cheapBoxUs: number | null;
  boundLeft: number | null;
  cheapServiceLeft: number | null;
} {
  const none = { bound: null, cheapService: null, cheapBoxUs: null, boundLeft: null, cheapServiceLeft: null };
  const ours = service?.usPerDelivery;
  const theirs = raw?.usPerDelivery;
  if (!ours?.box || !theirs?.box || ours.service === null) return none;
  const cheap = theirs.driver === null ? null : round(ours.box - ours.service + theirs.driver, 1);
  const left = service!.coresLeft && raw!.coresLeft ? service!.coresLeft / raw!.coresLeft : null;
  const bound = theirs.box / ours.box;
  const cheapBound = cheap ? theirs.box / cheap : null;
  return {
    bound: round(bound, 3),
    cheapService: cheapBound === null ? null : round(cheapBound, 3),
    cheapBoxUs: cheap,
    boundLeft: left === null ? null : round(bound * left, 3),
    cheapServiceLeft: left === null || cheapBound === null ? null : round(cheapBound * left, 3),
  };
}
