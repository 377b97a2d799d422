import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseMachineStat, parsePidStat, treeTicks, type PidStat } from '../../bench/process-stats.ts';

// A real postmaster's line (Debian's PostgreSQL 15), fields 3 onwards after the comm.
const POSTMASTER_TAIL =
  'S 1 2710 2710 0 -1 4194304 9261 753472 0 16 2 27 14762 3813 20 0 1 0 15200 227389440 8356 18446744073709551615 ' +
  '94685987217408 94685992630697 140734895584592 0 0 0 0 24129536 84487 1 0 0 17 1 0 0 0 0 0 94685995096240 94685995313546 ' +
  '94686764331008 140734895586974 140734895587096 140734895587096 140734895587284 0';

/** A stat line of pid `pid` with the given comm and times (everything else from the real line). */
function statLine(
  pid: number,
  comm: string,
  o: { ppid?: number; utime?: number; stime?: number; cutime?: number; cstime?: number; state?: string } = {},
): string {
  const f = POSTMASTER_TAIL.split(' ');
  if (o.state) f[0] = o.state;
  if (o.ppid !== undefined) f[1] = String(o.ppid);
  if (o.utime !== undefined) f[11] = String(o.utime);
  if (o.stime !== undefined) f[12] = String(o.stime);
  if (o.cutime !== undefined) f[13] = String(o.cutime);
  if (o.cstime !== undefined) f[14] = String(o.cstime);
  return `${pid} (${comm}) ${f.join(' ')}\n`;
}

test('reads ppid, utime, stime, cutime, cstime and starttime of a /proc/PID/stat line', () => {
  assert.deepEqual(parsePidStat(`2710 (postgres) ${POSTMASTER_TAIL}\n`), {
    pid: 2710,
    comm: 'postgres',
    state: 'S',
    ppid: 1,
    utime: 2,
    stime: 27,
    cutime: 14762,
    cstime: 3813,
    starttime: 15200,
  });
});

test('a comm with spaces and parentheses does not shift the fields', () => {
  for (const comm of ['Web Content', 'a) (b', ') S 1 2 3 (', '((x))', '']) {
    const s = parsePidStat(statLine(42, comm, { ppid: 7, utime: 100, stime: 50, cutime: 3, cstime: 4 }));
    assert.equal(s.comm, comm);
    assert.deepEqual([s.pid, s.ppid, s.utime, s.stime, s.cutime, s.cstime, s.starttime], [42, 7, 100, 50, 3, 4, 15200], comm);
  }
});

test('a text that is not a stat line, or is cut short, is refused with the reason', () => {
  assert.throws(() => parsePidStat(''), /not a \/proc\/PID\/stat text/);
  assert.throws(() => parsePidStat('abc (x) S 1'), /not a \/proc\/PID\/stat text/);
  assert.throws(() => parsePidStat('12 x S 1 2 3'), /not a \/proc\/PID\/stat text/);
  assert.throws(() => parsePidStat('12 (x) S 1 2 3 4 5 6 7 8 9 10'), /field 14 \(utime\) is undefined/);
  assert.throws(() => parsePidStat(statLine(12, 'x').replace(' 14762 ', ' 1.5e3 ')), /field 16 \(cutime\) is "1.5e3"/);
});

test("reads the machine's busy and total ticks from the cpu line of /proc/stat", () => {
  const text = [
    'cpu  48504 7 14839 32191 789 11 3187 6806 120 3',
    'cpu0 24000 3 7400 16000 400 5 1600 3400 60 1',
    'cpu1 24504 4 7439 16191 389 6 1587 3406 60 2',
    'intr 1 2 3',
    'ctxt 99',
  ].join('\n');
  const m = parseMachineStat(text);
  assert.deepEqual([m.user, m.nice, m.system, m.idle, m.iowait, m.irq, m.softirq, m.steal], [48504, 7, 14839, 32191, 789, 11, 3187, 6806]);
  // Guest time (120, 3) is already inside user and nice: not added again.
  assert.equal(m.busy, 48504 + 7 + 14839 + 11 + 3187 + 6806);
  assert.equal(m.total, m.busy + 32191 + 789);
});

test('a /proc/stat without an aggregate cpu line, or with a short one, is refused', () => {
  assert.throws(() => parseMachineStat('cpu0 1 2 3 4 5 6 7 8\nintr 1'), /no aggregate "cpu" line/);
  assert.throws(() => parseMachineStat('cpu 1 2 3 4'), /iowait is undefined/);
  assert.throws(() => parseMachineStat('cpu 1 2 x 4 5 6 7 8'), /system is "x"/);
});

test("a cluster's ticks are the postmaster's own and reaped children's plus its live children's own", () => {
  const stats: PidStat[] = [
    parsePidStat(statLine(100, 'postgres', { ppid: 1, utime: 10, stime: 5, cutime: 1000, cstime: 300 })),
    parsePidStat(statLine(101, 'postgres', { ppid: 100, utime: 7, stime: 3, cutime: 99, cstime: 99 })), // a child's own reaped children are not counted
    parsePidStat(statLine(102, 'postgres: 15/main: walwriter', { ppid: 100, utime: 2, stime: 1 })),
    parsePidStat(statLine(103, 'postgres', { ppid: 100, utime: 4, stime: 4, state: 'Z' })), // exited, not yet reaped: still a child
    parsePidStat(statLine(200, 'java', { ppid: 1, utime: 500, stime: 500 })),
    parsePidStat(statLine(201, 'postgres', { ppid: 101, utime: 50, stime: 50 })), // a grandchild is not a child
  ];
  assert.equal(treeTicks(100, stats), 10 + 5 + 1000 + 300 + (7 + 3) + (2 + 1) + (4 + 4));
  assert.equal(treeTicks(999, stats), null, 'no such parent: no reading');
});

test('a child that exits between two readings is counted once, in the second reading through cutime', () => {
  const before = [
    parsePidStat(statLine(100, 'postgres', { ppid: 1, utime: 10, stime: 5, cutime: 1000, cstime: 300 })),
    parsePidStat(statLine(101, 'postgres', { ppid: 100, utime: 40, stime: 10 })),
  ];
  // The backend ran 20 more ticks, exited and was reaped: its 70 ticks are now in cutime + cstime.
  const after = [parsePidStat(statLine(100, 'postgres', { ppid: 1, utime: 11, stime: 5, cutime: 1060, cstime: 310 }))];
  assert.equal(treeTicks(100, after)! - treeTicks(100, before)!, 1 + 20);
});
