import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { nodeFlagsOf, START_NODE_FLAGS } from '../../bench/start-flags.ts';

test('reads the node flags of a start command, up to the script', () => {
  assert.deepEqual(nodeFlagsOf('node --a=1 --b src/main.ts --c'), ['--a=1', '--b']);
  assert.deepEqual(nodeFlagsOf('node src/main.ts'), []);
  assert.throws(() => nodeFlagsOf('tsx src/main.ts'), /not a node command/);
});

test("the image's ENTRYPOINT runs node with the same heap flags as npm start (and so as the bench)", () => {
  const dockerfile = readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8');
  const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(dockerfile);
  assert.ok(entrypoint, 'the Dockerfile has an exec-form ENTRYPOINT');
  const words = JSON.parse(entrypoint[1]!) as string[];
  assert.deepEqual(nodeFlagsOf(words.join(' ')), [...START_NODE_FLAGS]);
  assert.ok(
    START_NODE_FLAGS.some((f) => f.startsWith('--max-semi-space-size=')),
    'npm start bounds the new space',
  );
  assert.ok(
    START_NODE_FLAGS.some((f) => f.startsWith('--heap-growing-percent=')),
    "npm start bounds the old space's growth",
  );
});
