/**
 * The Node flags of the production start command (package.json's "start", which the Dockerfile's
 * ENTRYPOINT repeats), so the bench runs the dispatcher as production does. `--node-arg` flags
 * come after them, and a later V8 flag wins.
 */
import pkg from '../package.json' with { type: 'json' };

/** The `--` flags between `node` and the script in a `node … script` command line. */
export function nodeFlagsOf(command: string): string[] {
  const words = command.trim().split(/\s+/);
  if (words[0] !== 'node') throw new Error(`not a node command: ${command}`);
  const flags: string[] = [];
  for (const w of words.slice(1)) {
    if (!w.startsWith('--')) break;
    flags.push(w);
  }
  return flags;
}

export const START_NODE_FLAGS: readonly string[] = nodeFlagsOf(pkg.scripts.start);
