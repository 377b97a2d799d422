/**
 * A tiny analyzer of V8 `.cpuprofile` files (what `node --cpu-prof` writes): self time per
 * function and per module. Also runnable alone: `node bench/cpu-profile.ts FILE [TOP]`.
 */
import { mkdir, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileEntry {
  name: string;
  where: string;
  selfMs: number;
  /** Share of the non-idle sampled time, %. */
  percent: number;
}

export interface ProfileSummary {
  /** Profile length, s. */
  wallS: number;
  /** Sampled time not idle (program + GC + functions), s. */
  busyS: number;
  idleS: number;
  gcS: number;
  top: ProfileEntry[];
  /** Self time grouped by module: a package, a src/ file, or Node's internals. */
  byModule: ProfileEntry[];
}

const root = new URL('../', import.meta.url).pathname;

function shortUrl(url: string): string {
  if (url === '') return '';
  let p = url.startsWith('file://') ? new URL(url).pathname : url;
  if (p.startsWith(root)) p = p.slice(root.length);
  const nm = p.lastIndexOf('node_modules/');
  return nm >= 0 ? p.slice(nm + 'node_modules/'.length) : p;
}

function moduleOf(url: string): string {
  const p = shortUrl(url);
  if (p === '') return '(native / V8)';
  if (p.startsWith('node:')) return p.split('/').slice(0, 2).join('/');
  if (url.includes('node_modules/')) {
    const parts = p.split('/');
    return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  return p;
}

export function summarizeProfile(profile: CpuProfile, topN = 15): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  // timeDeltas[i] is the time before sample i: it belongs to the sample before it.
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i + 1] ?? 0;
    const id = profile.samples[i]!;
    self.set(id, (self.get(id) ?? 0) + Math.max(0, dt));
  }
  let idle = 0;
  let gc = 0;
  let busy = 0;
  const fns = new Map<string, { name: string; where: string; us: number }>();
  const mods = new Map<string, number>();
  for (const [id, us] of self) {
    const node = byId.get(id);
    if (!node) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') {
      idle += us;
      continue;
    }
    if (functionName === '(garbage collector)') gc += us;
    busy += us;
    const name = functionName || '(anonymous)';
    const where = url ? `${shortUrl(url)}:${lineNumber + 1}` : '';
    const k = `${name}\u0000${where}`;
    const e = fns.get(k) ?? { name, where, us: 0 };
    e.us += us;
    fns.set(k, e);
    const m = functionName.startsWith('(') && url === '' ? functionName : moduleOf(url);
    mods.set(m, (mods.get(m) ?? 0) + us);
  }
  const pct = (us: number): number => (busy > 0 ? Math.round((us / busy) * 1000) / 10 : 0);
  const ms = (us: number): number => Math.round(us / 100) / 10;
  return {
    wallS: Math.round((profile.endTime - profile.startTime) / 1e4) / 100,
    busyS: Math.round(busy / 1e4) / 100,
    idleS: Math.round(idle / 1e4) / 100,
    gcS: Math.round(gc / 1e4) / 100,
    top: [...fns.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, topN)
      .map((e) => ({ name: e.name, where: e.where, selfMs: ms(e.us), percent: pct(e.us) })),
    byModule: [...mods]
      .sort((a, b) => b[1] - a[1])
      .slice(0, topN)
      .map(([name, us]) => ({ name, where: '', selfMs: ms(us), percent: pct(us) })),
  };
}

export async function analyzeProfile(file: string, topN = 15): Promise<ProfileSummary> {
  return summarizeProfile(JSON.parse(await readFile(file, 'utf8')) as CpuProfile, topN);
}

/**
 * Profiling of one dispatcher run: `args` are its Node flags (none without a directory), and
 * `collect()`, after the process exited cleanly, analyzes the profile it wrote (null: none).
 */
export async function profiledRun(dir: string | null | undefined): Promise<{
  args: string[];
  collect(): Promise<(ProfileSummary & { file: string }) | null>;
}> {
  if (!dir) return { args: [], collect: () => Promise.resolve(null) };
  const profileDir = path.resolve(dir);
  await mkdir(profileDir, { recursive: true });
  const before = new Set(await readdir(profileDir));
  return {
    args: ['--cpu-prof', '--cpu-prof-dir', profileDir],
    async collect() {
      const fresh = (await readdir(profileDir)).filter((f) => f.endsWith('.cpuprofile') && !before.has(f));
      if (fresh.length === 0) return null;
      const file = path.join(profileDir, fresh.sort().at(-1)!);
      return { file, ...(await analyzeProfile(file)) };
    },
  };
}

export function formatProfile(s: ProfileSummary, title: string): string {
  const lines = [
    `${title}: ${s.wallS} s profiled, ${s.busyS} s busy (GC ${s.gcS} s), ${s.idleS} s idle`,
    '',
    '  self ms     %   function (file:line)',
    ...s.top.map(
      (e) => `  ${e.selfMs.toFixed(0).padStart(7)} ${e.percent.toFixed(1).padStart(5)}   ${e.name}${e.where ? `  (${e.where})` : ''}`,
    ),
    '',
    '  by module:',
    ...s.byModule.slice(0, 12).map((e) => `  ${e.selfMs.toFixed(0).padStart(7)} ${e.percent.toFixed(1).padStart(5)}   ${e.name}`),
  ];
  return lines.join('\n');
}

if (import.meta.main) {
  const [file, top] = process.argv.slice(2);
  if (!file) {
    console.error('usage: node bench/cpu-profile.ts FILE.cpuprofile [TOP]');
    process.exit(2);
  }
  console.log(formatProfile(await analyzeProfile(file, Number(top ?? 15)), path.basename(file)));
}
