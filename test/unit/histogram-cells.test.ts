import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Histogram, Registry } from 'prom-client';
import { HistogramCells } from '../../src/metrics/counter-cells.ts';

const BOUNDS = [0.001, 0.01, 0.1, 1];

/** A histogram fed through cells, and a plain prom-client one, each in a registry of its own. */
function pair(): { cells: HistogramCells; batched: Histogram; plain: Histogram; text: () => Promise<[string, string]> } {
  const batchedRegistry = new Registry();
  const plainRegistry = new Registry();
  let cells: HistogramCells | null = null;
  const config = { name: 'h_seconds', help: 'h', labelNames: ['result', 'endpoint'], buckets: BOUNDS };
  const batched = new Histogram({ ...config, registers: [batchedRegistry], collect: () => cells?.flush() });
  const plain = new Histogram({ ...config, registers: [plainRegistry] });
  cells = new HistogramCells(batched, BOUNDS, (result, endpoint): Record<string, string> => (endpoint ? { result, endpoint } : { result }));
  return { cells, batched, plain, text: async () => [await batchedRegistry.metrics(), await plainRegistry.metrics()] };
}

test("the exposition of observations through cells is prom-client's own for the same values", async () => {
  const { cells, plain, text } = pair();
  // On a bound, between bounds, above every bound, zero; two label sets, one with the endpoint.
  const values: Array<[string, string, number]> = [
    ['ok', '', 0.001],
    ['ok', '', 0.0005],
    ['ok', '', 0.05],
    ['ok', '', 7],
    ['ok', '', 0],
    ['timeout', 'ep-1', 1],
    ['timeout', 'ep-1', 10],
    ['ok', '', 0.3],
  ];
  for (const [result, endpoint, v] of values) {
    cells.observe(result, endpoint, '', v);
    plain.observe(endpoint ? { result, endpoint } : { result }, v);
  }
  const [batchedText, plainText] = await text();
  assert.equal(batchedText, plainText);
  assert.match(batchedText, /h_seconds_bucket\{le="\+Inf",result="ok"\} 6/);
  assert.match(batchedText, /h_seconds_sum\{result="timeout",endpoint="ep-1"\} 11/);
});

test('observations between scrapes add up, a direct observe() is kept, and a reset starts the series over', async () => {
  const { cells, batched, plain, text } = pair();
  cells.observe('ok', '', '', 0.02);
  plain.observe({ result: 'ok' }, 0.02);
  await text();
  cells.observe('ok', '', '', 0.2);
  plain.observe({ result: 'ok' }, 0.2);
  batched.observe({ result: 'ok' }, 0.002);
  plain.observe({ result: 'ok' }, 0.002);
  let [batchedText, plainText] = await text();
  assert.equal(batchedText, plainText, 'second scrape: the pending values are added, not doubled');
  assert.match(batchedText, /h_seconds_count\{result="ok"\} 3/);
  assert.equal((await text())[0], batchedText, 'a scrape with nothing new changes nothing');

  batched.reset();
  plain.reset();
  cells.observe('ok', '', '', 0.5);
  plain.observe({ result: 'ok' }, 0.5);
  [batchedText, plainText] = await text();
  assert.equal(batchedText, plainText, 'after a reset the series is made again');
  assert.match(batchedText, /h_seconds_count\{result="ok"\} 1/);
});

test('a value that is not a finite number is refused, as prom-client refuses it', () => {
  const { cells, plain } = pair();
  assert.throws(() => cells.observe('ok', '', '', Number.NaN), TypeError);
  assert.throws(() => plain.observe({ result: 'ok' }, Number.NaN), TypeError);
});
