import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { build, BuildError } from '../../scripts/build.ts';

const repo = new URL('../../', import.meta.url).pathname;

/** A project root with the repository's tsconfig files, an ES-module package.json and the given src/ files. */
function project(t: TestContext, files: Record<string, string>): string {
  const root = mkdtempSync(join(os.tmpdir(), 'build-test-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  for (const f of ['tsconfig.json', 'tsconfig.build.json']) copyFileSync(join(repo, f), join(root, f));
  writeFileSync(join(root, 'package.json'), '{ "type": "module" }\n');
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(root, 'src', name, '..'), { recursive: true });
    writeFileSync(join(root, 'src', name), text);
  }
  return root;
}

const SOURCES = {
  'main.ts': [
    "import { twice, type Twice } from './util/twice.ts';",
    "import data from './data.json' with { type: 'json' };",
    'const f: Twice = twice;',
    "export const late = async (): Promise<number> => (await import('./util/late.ts')).late;",
    'export const value: number = f(data.n);',
  ].join('\n'),
  'util/twice.ts': 'export type Twice = (n: number) => number;\nexport const twice: Twice = (n) => n * 2;\n',
  'util/late.ts': 'export const late: number = 7;\n',
  'data.json': '{ "n": 21 }\n',
  'static/page.css': 'body { margin: 0 }\n',
};

test('builds plain JavaScript that runs without type stripping, imports rewritten to .js, other files copied', async (t) => {
  const root = project(t, SOURCES);
  assert.deepEqual(build(root), { modules: 3, assets: 2 });
  const main = readFileSync(join(root, 'dist/main.js'), 'utf8');
  assert.match(main, /from ["']\.\/util\/twice\.js["']/);
  assert.match(main, /import\(["']\.\/util\/late\.js["']\)/);
  assert.doesNotMatch(main, /: number|type Twice/);
  assert.equal(readFileSync(join(root, 'dist/static/page.css'), 'utf8'), SOURCES['static/page.css']);
  // Run as production runs it: the type stripper off, so a .ts module anywhere would fail to load.
  const run = spawnSync(
    process.execPath,
    [
      '--no-experimental-strip-types',
      '--input-type=module',
      '-e',
      `const m = await import(${JSON.stringify(join(root, 'dist/main.js'))}); console.log(m.value, await m.late());`,
    ],
    { encoding: 'utf8' },
  );
  assert.equal(run.stderr, '');
  assert.equal(run.stdout, '42 7\n');
});

test('a rebuild starts from an empty dist/: the output of a deleted source does not survive', (t) => {
  const root = project(t, SOURCES);
  build(root);
  rmSync(join(root, 'src/util/late.ts'));
  writeFileSync(join(root, 'src/main.ts'), SOURCES['main.ts'].replace(/^export const late.*$/m, ''));
  build(root);
  assert.equal(existsSync(join(root, 'dist/util/late.js')), false);
  assert.equal(existsSync(join(root, 'dist/util/twice.js')), true);
});

test('a syntax error fails the build with the file and line, and leaves the previous dist/ as it was', (t) => {
  const root = project(t, SOURCES);
  build(root);
  const before = readFileSync(join(root, 'dist/main.js'), 'utf8');
  writeFileSync(join(root, 'src/util/twice.ts'), 'export const twice = (n: number) => n *;\n');
  assert.throws(
    () => build(root),
    (err) => err instanceof BuildError && /src\/util\/twice\.ts\(1,/.test(err.message) && /left as it was/.test(err.message),
  );
  assert.equal(readFileSync(join(root, 'dist/main.js'), 'utf8'), before);
  assert.equal(existsSync(join(root, 'dist/util/twice.js')), true);
  assert.match(readFileSync(join(root, 'dist/util/twice.js'), 'utf8'), /n \* 2/, 'the old output is kept');
});

test('a missing or broken tsconfig.build.json fails the build', (t) => {
  const root = project(t, SOURCES);
  rmSync(join(root, 'tsconfig.build.json'));
  assert.throws(() => build(root), BuildError);
  writeFileSync(join(root, 'tsconfig.build.json'), '{ "compilerOptions": { "target": "nope" } }');
  assert.throws(() => build(root), BuildError);
  assert.equal(existsSync(join(root, 'dist')), false);
});
