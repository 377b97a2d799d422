import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import pkg from '../../package.json' with { type: 'json' };
import { nodeCommandOf, START_ENV, START_NODE_FLAGS, START_SCRIPT } from '../../bench/start-flags.ts';

test('reads the environment, the node flags and the script of a start command', () => {
  assert.deepEqual(nodeCommandOf('node --a=1 --b dist/main.js --c'), { env: {}, flags: ['--a=1', '--b'], script: 'dist/main.js' });
  assert.deepEqual(nodeCommandOf('A=1 B_2=x=y node src/main.ts'), { env: { A: '1', B_2: 'x=y' }, flags: [], script: 'src/main.ts' });
  assert.throws(() => nodeCommandOf('A=1 tsx src/main.ts'), /not a node command/);
  assert.throws(() => nodeCommandOf('tsx src/main.ts'), /not a node command/);
  assert.throws(() => nodeCommandOf('node --a=1'), /no script/);
});

test('npm start builds dist/ first and runs the compiled service, not the TypeScript sources', () => {
  assert.equal(START_SCRIPT, 'dist/main.js');
  assert.equal(pkg.scripts.prestart, 'npm run --silent build');
  assert.equal(pkg.scripts.build, 'node scripts/build.ts');
});

test("the image's ENTRYPOINT runs the compiled CLI with the same heap flags as npm start (and so as the bench)", () => {
  const dockerfile = readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8');
  const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(dockerfile);
  assert.ok(entrypoint, 'the Dockerfile has an exec-form ENTRYPOINT');
  const words = JSON.parse(entrypoint[1]!) as string[];
  assert.deepEqual(nodeCommandOf(words.join(' ')), { env: {}, flags: [...START_NODE_FLAGS], script: 'dist/cli/main.js' });
  const [buildStage, runtimeStage] = dockerfile.split(/^FROM \S+ AS runtime$/m);
  assert.ok(runtimeStage, 'the Dockerfile has a runtime stage');
  assert.match(buildStage!, /^RUN node scripts\/build\.ts$/m, 'a stage before it runs the build');
  assert.match(runtimeStage, /^COPY --from=build \/app\/dist \.\/dist$/m, 'the runtime stage takes the build output');
  assert.doesNotMatch(runtimeStage, /^COPY src /m, 'the runtime stage holds no TypeScript sources');
  const imageEnv = Object.fromEntries([...runtimeStage.matchAll(/^ENV (\w+)=(\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
  for (const [name, value] of Object.entries(START_ENV)) assert.equal(imageEnv[name], value, `the image sets ${name} as npm start does`);
  assert.equal(START_ENV.MALLOC_ARENA_MAX, '1', 'npm start runs node with one malloc arena');
  assert.ok(
    START_NODE_FLAGS.some((f) => f.startsWith('--max-semi-space-size=')),
    'npm start bounds the new space',
  );
  assert.ok(
    START_NODE_FLAGS.some((f) => f.startsWith('--heap-growing-percent=')),
    "npm start bounds the old space's growth",
  );
  assert.ok(START_NODE_FLAGS.includes('--expose-gc'), 'npm start lets the service reduce its heap when idle (src/util/idle-memory.ts)');
});

test('npm run dev runs the sources with the same malloc arena and heap flags as npm start', () => {
  const dev = readFileSync(new URL('../../scripts/dev.sh', import.meta.url), 'utf8');
  const line = /^(.*)"\$NODE" (.*) &$/m.exec(dev);
  assert.ok(line, 'scripts/dev.sh starts the service with "$NODE" … &');
  assert.deepEqual(nodeCommandOf(`${line[1]!}node ${line[2]!}`), {
    env: { ...START_ENV },
    flags: [...START_NODE_FLAGS],
    script: 'src/main.ts',
  });
});
