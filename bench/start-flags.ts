/**
 * The production start command (package.json's "start", which the Dockerfile's ENTRYPOINT
 * repeats): its Node flags and the script it runs, the compiled `dist/main.js` that `npm run
 * build` writes. The bench runs the dispatcher the same way: it builds dist/ once at its start and
 * spawns `node <flags> <script>`. `--node-arg` flags come after these flags, and a later V8 flag
 * wins.
 */
import pkg from '../package.json' with { type: 'json' };

/** The `--` flags between `node` and the script in a `node … script` command line, and the script. */
export function nodeCommandOf(command: string): { flags: string[]; script: string } {
  const words = command.trim().split(/\s+/);
  if (words[0] !== 'node') throw new Error(`not a node command: ${command}`);
  const flags: string[] = [];
  for (const w of words.slice(1)) {
    if (!w.startsWith('--')) return { flags, script: w };
    flags.push(w);
  }
  throw new Error(`no script in: ${command}`);
}

const start = nodeCommandOf(pkg.scripts.start);
export const START_NODE_FLAGS: readonly string[] = start.flags;
/** The script `npm start` runs (relative to the repository root). */
export const START_SCRIPT: string = start.script;
