import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

// scripts/deps-fresh.mjs decides whether `npm run dev` and `npm test` run `npm ci` first.
const SCRIPT = new URL('../../scripts/deps-fresh.mjs', import.meta.url).pathname;

type Packages = Record<string, { version: string; optional?: boolean }>;

const LOCKED: Packages = {
  '': { version: '0.1.0' },
  'node_modules/kafkajs': { version: '2.2.4' },
  'node_modules/pg': { version: '8.23.1' },
  'node_modules/@esbuild/darwin-arm64': { version: '0.25.0', optional: true },
};
const INSTALLED: Packages = { 'node_modules/kafkajs': { version: '2.2.4' }, 'node_modules/pg': { version: '8.23.1' } };

/** Exit code of the script for a project holding these lockfiles (null: that file is absent). */
async function fresh(locked: Packages | null, installed: Packages | null): Promise<boolean> {
  const dir = await mkdtemp(join(tmpdir(), 'deps-fresh-'));
  try {
    if (locked) await writeFile(join(dir, 'package-lock.json'), JSON.stringify({ lockfileVersion: 3, packages: locked }));
    if (installed) {
      await mkdir(join(dir, 'node_modules'));
      await writeFile(join(dir, 'node_modules/.package-lock.json'), JSON.stringify({ lockfileVersion: 3, packages: installed }));
    }
    const run = spawnSync(process.execPath, [SCRIPT, dir], { encoding: 'utf8' });
    assert.ok(run.status === 0 || run.status === 1, `exit code ${run.status}: ${run.stderr}`);
    return run.status === 0;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('node_modules with every locked version is fresh; an optional package may be absent', async () => {
  assert.equal(await fresh(LOCKED, INSTALLED), true);
});

test('a missing node_modules or lockfile means npm ci is due', async () => {
  assert.equal(await fresh(LOCKED, null), false);
  assert.equal(await fresh(null, INSTALLED), false);
});

test('a package at another version, a missing one or one the lockfile does not know is stale', async () => {
  assert.equal(await fresh(LOCKED, { ...INSTALLED, 'node_modules/pg': { version: '8.23.0' } }), false);
  assert.equal(await fresh({ ...LOCKED, 'node_modules/hono': { version: '4.13.19' } }, INSTALLED), false);
  assert.equal(await fresh(LOCKED, { ...INSTALLED, 'node_modules/left-pad': { version: '1.3.0' } }), false);
});
