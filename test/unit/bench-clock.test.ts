import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { nowMs } from '../../bench/stats.ts';
import { benchMessage, EVENT_BYTES } from '../../bench/producer.ts';

const STATS = fileURLToPath(new URL('../../bench/stats.ts', import.meta.url));

test('nowMs() is one clock for every process: a child started now reads a time between two of ours', () => {
  const before = nowMs();
  const script = `import(${JSON.stringify(STATS)}).then((m) => console.log(m.nowMs()))`;
  const child = Number(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }).trim());
  const after = nowMs();
  assert.ok(Number.isFinite(child), `child printed ${child}`);
  assert.ok(before <= child && child <= after, `${before} <= ${child} <= ${after}`);
});

test("a bench event carries produced_at on that clock and a wall-clock timestamp, at about the bench's event size", () => {
  const at = nowMs();
  const m = benchMessage('t', 123_456, at);
  const parsed = JSON.parse(String(m.value)) as { timestamp: string; data: { produced_at: number } };
  assert.equal(parsed.data.produced_at, at);
  assert.ok(Math.abs(Date.parse(parsed.timestamp) - Date.now()) < 60_000, parsed.timestamp);
  assert.ok(Math.abs((m.value as Buffer).length - EVENT_BYTES) <= 16, `${(m.value as Buffer).length} vs ${EVENT_BYTES}`);
});
