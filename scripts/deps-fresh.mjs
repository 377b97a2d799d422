// Exit 0 when node_modules holds exactly what package-lock.json pins, 1 when it is missing or
// stale (then `npm ci` is due). Usage: node scripts/deps-fresh.mjs [project dir, default: this one]
//
// Plain JavaScript that any Node (>= 18) runs: it is called before the project's own Node 24 is
// installed, with whatever `node` the machine has.
//
// npm writes node_modules/.package-lock.json (the "hidden lockfile") after every install; it lists
// what is installed, keyed like package-lock.json's "packages". They agree when every installed
// package has the locked version and every locked package is installed (optional ones, e.g. for
// another platform, may be absent).
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const root = process.argv[2] ? pathToFileURL(`${process.argv[2].replace(/\/$/, '')}/`) : new URL('..', import.meta.url);

function packages(path) {
  try {
    return JSON.parse(readFileSync(new URL(path, root), 'utf8')).packages ?? null;
  } catch {
    return null;
  }
}

const locked = packages('package-lock.json');
const installed = packages('node_modules/.package-lock.json');
if (!locked || !installed) process.exit(1);

for (const [key, entry] of Object.entries(locked)) {
  if (key === '' || !key.startsWith('node_modules/')) continue;
  const have = installed[key];
  if (!have) {
    if (entry.optional) continue;
    process.stderr.write(`deps: ${key} is not installed\n`);
    process.exit(1);
  }
  if (have.version !== entry.version) {
    process.stderr.write(`deps: ${key} is ${have.version}, the lockfile pins ${entry.version}\n`);
    process.exit(1);
  }
}
for (const key of Object.keys(installed)) {
  if (key.startsWith('node_modules/') && !locked[key]) {
    process.stderr.write(`deps: ${key} is installed but not in package-lock.json\n`);
    process.exit(1);
  }
}
process.exit(0);
