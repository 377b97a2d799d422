/**
 * The production start command (package.json's "start", which the Dockerfile's ENV and ENTRYPOINT
 * repeat): the environment it sets, its Node flags and the script it runs, the compiled
 * `dist/main.js` that `npm run build` writes. The bench runs the dispatcher the same way: it
 * builds dist/ once at its start and spawns `node <flags> <script>` with that environment.
 * `--node-arg` flags come after these flags (a later V8 flag wins), and `--env` wins over it.
 */
import pkg from '../package.json' with { type: 'json' };

export interface NodeCommand {
  /** `NAME=VALUE` words before `node`. */
  env: Record<string, string>;
  /** The `--` flags between `node` and the script. */
  flags: string[];
  script: string;
}

/** Reads a `[NAME=VALUE …] node [--flag …] script …` command line. */
export function nodeCommandOf(command: string): NodeCommand {
  const words = command.trim().split(/\s+/);
  const env: Record<string, string> = {};
  let i = 0;
  for (; i < words.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[i]!); i++) {
    const w = words[i]!;
    env[w.slice(0, w.indexOf('='))] = w.slice(w.indexOf('=') + 1);
  }
  if (words[i] !== 'node') throw new Error(`not a node command: ${command}`);
  const flags: string[] = [];
  for (const w of words.slice(i + 1)) {
    if (!w.startsWith('--')) return { env, flags, script: w };
    flags.push(w);
  }
  throw new Error(`no script in: ${command}`);
}

const start = nodeCommandOf(pkg.scripts.start);
export const START_ENV: Readonly<Record<string, string>> = start.env;
export const START_NODE_FLAGS: readonly string[] = start.flags;
/** The script `npm start` runs (relative to the repository root). */
export const START_SCRIPT: string = start.script;
