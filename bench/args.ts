/** Command-line flags of `npm run bench`. */

export const SCENARIOS = ['idle', 'throughput', 'raw', 'handrolled', 'scaleout', 'isolation', 'retry', 'backlog'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export interface BenchArgs {
  /** Events per run of the throughput, raw and backlog scenarios. */
  events: number;
  quick: boolean;
  /** Retry timing with the real 5 s / 30 s / 120 s schedule instead of 1 s / 2 s / 3 s. */
  full: boolean;
  only: ScenarioName[];
  json: string | null;
  cpuProfDir: string | null;
  /** Length of the paced (1,000 events/s) latency run, s; 0 skips it. */
  pacedSeconds: number;
  /** Rates of the paced runs, events/s (the first is the latency target's). */
  pacedRates: number[];
  /** Warm-up at the same rate before each paced run, s, not measured (see bench/warm-up.ts); 0 for a cold start. */
  pacedWarmupSeconds: number;
  /** Extra Node flags for every dispatcher process (e.g. `--max-old-space-size=128`). */
  nodeArgs: string[];
  /**
   * The dispatcher's script, relative to the repository root: null for npm start's (dist/main.js,
   * built by the bench at its start), e.g. `src/main.ts` to run the sources through Node's type
   * stripping.
   */
  script: string | null;
  /** Extra environment for every dispatcher process (`--env NAME=VALUE`), e.g. a setting to compare. */
  env: Record<string, string>;
}

export const USAGE = `usage: npm run bench -- [options]
  --quick            small run (5,000 events, short scenarios; about 2-3 minutes)
  --events N         events per run (default 100,000; --quick 5,000)
  --only a,b         scenarios to run: ${SCENARIOS.join(', ')} (default all)
  --json FILE        write every result to FILE
  --full             retry timing with the real 5s/30s/120s schedule (default 1s/2s/3s)
  --cpu-prof DIR     profile the dispatcher during the throughput and isolation scenarios; print the top functions
  --paced-seconds S  length of each paced latency run (default 20; --quick 8; 0 skips them)
  --paced-rate R,..  events/s of the paced latency runs (default 1000,2000; the first is the target's)
  --paced-warmup S   warm-up at the same rate before each paced run, not measured (default 5; --quick 3; 0: cold start)
  --node-arg FLAG    a Node flag for every dispatcher process (repeatable), e.g. --node-arg=--max-semi-space-size=4
  --env NAME=VALUE   an environment variable for every dispatcher process (repeatable), e.g. --env PARTITION_CONCURRENCY=128
  --script PATH      the dispatcher's script (default npm start's, dist/main.js, built first), e.g. src/main.ts
  --help`;

export class UsageError extends Error {}

function positiveInt(flag: string, raw: string | undefined, min: number): number {
  const digits = raw?.replaceAll('_', '').replaceAll(',', '');
  if (digits === undefined || !/^\d+$/.test(digits)) throw new UsageError(`${flag} needs a whole number`);
  const n = Number(digits);
  if (n < min) throw new UsageError(`${flag} must be at least ${min}`);
  return n;
}

export function parseArgs(argv: readonly string[]): BenchArgs | 'help' {
  let events: number | null = null;
  let pacedSeconds: number | null = null;
  let pacedRates = [1000, 2000];
  let pacedWarmupSeconds: number | null = null;
  let quick = false;
  let full = false;
  let only: ScenarioName[] = [...SCENARIOS];
  let json: string | null = null;
  let cpuProfDir: string | null = null;
  let script: string | null = null;
  const nodeArgs: string[] = [];
  const env: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] =
      a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new UsageError(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--help':
      case '-h':
        return 'help';
      case '--quick':
        quick = true;
        break;
      case '--full':
        full = true;
        break;
      case '--events':
        events = positiveInt('--events', value(), 10);
        break;
      case '--paced-seconds':
        pacedSeconds = positiveInt('--paced-seconds', value(), 0);
        break;
      case '--paced-rate':
        pacedRates = value()
          .split(',')
          .filter(Boolean)
          .map((r) => positiveInt('--paced-rate', r, 1));
        break;
      case '--paced-warmup':
        pacedWarmupSeconds = positiveInt('--paced-warmup', value(), 0);
        break;
      case '--json':
        json = value();
        break;
      case '--cpu-prof':
        cpuProfDir = value();
        break;
      case '--script':
        script = value();
        break;
      case '--node-arg':
        nodeArgs.push(value());
        break;
      case '--env': {
        const v = value();
        const eq = v.indexOf('=');
        if (eq < 1) throw new UsageError('--env needs NAME=VALUE');
        env[v.slice(0, eq)] = v.slice(eq + 1);
        break;
      }
      case '--only': {
        const names = value()
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
        for (const n of names)
          if (!(SCENARIOS as readonly string[]).includes(n))
            throw new UsageError(`unknown scenario ${JSON.stringify(n)} (known: ${SCENARIOS.join(', ')})`);
        only = SCENARIOS.filter((s) => names.includes(s));
        break;
      }
      default:
        throw new UsageError(`unknown option ${JSON.stringify(a)}`);
    }
  }
  return {
    events: events ?? (quick ? 5000 : 100_000),
    quick,
    full,
    only,
    json,
    cpuProfDir,
    pacedSeconds: pacedSeconds ?? (quick ? 8 : 20),
    pacedRates,
    pacedWarmupSeconds: pacedWarmupSeconds ?? (quick ? 3 : 5),
    script,
    nodeArgs,
    env,
  };
}
