import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { pino } from 'pino';
import { startHttpServer, type Readiness } from '../../src/metrics/http-server.ts';
import { createMetrics } from '../../src/metrics/metrics.ts';
import { waitFor } from '../support/wait-for.ts';

const logger = pino({ level: 'silent' });

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request on a fresh connection (no keep-alive pool between tests). */
function call(port: number, path: string, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function blockEventLoop(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // busy: nothing else may run
  }
}

/** A minimal check of the Prometheus text format: every line is a comment or `name{labels} value`. */
function parseExposition(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  const sampleLine = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (\S+)$/;
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue;
    const m = sampleLine.exec(line);
    assert.ok(m, `not a valid exposition line: ${JSON.stringify(line)}`);
    // Values are Go floats: NaN and Inf in any case (prom-client writes `Nan` before a first sample).
    const value = /^[+-]?inf$/i.test(m[3]!) ? (m[3]!.startsWith('-') ? -Infinity : Infinity) : /^nan$/i.test(m[3]!) ? NaN : Number(m[3]);
    assert.ok(!Number.isNaN(value) || /^nan$/i.test(m[3]!), `not a number: ${JSON.stringify(line)}`);
    samples.set(`${m[1]}${m[2] ?? ''}`, value);
  }
  return samples;
}

const readyAll = async (): Promise<Readiness> => ({ ready: true, checks: { kafka: true, postgres: true } });

describe('metrics and health server', () => {
  it('serves /metrics in the Prometheus text format with build info and the default metrics', async () => {
    const metrics = createMetrics({ perEndpoint: false, version: '9.9.9' });
    metrics.attemptFinished('2xx', 'call.ended', 'crm', 0.05);
    await using server = await startHttpServer({ host: '127.0.0.1', port: 0, registry: metrics.registry, logger, readiness: readyAll });
    assert.ok(server.port > 0);
    const res = await call(server.port, '/metrics');
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
    const samples = parseExposition(res.body);
    assert.equal(samples.get('webhooks_build_info{version="9.9.9"}'), 1);
    assert.equal(samples.get('webhooks_attempts_total{result="2xx",event_type="call.ended"}'), 1);
    assert.ok(samples.has('process_resident_memory_bytes'));
    assert.ok(samples.has('nodejs_eventloop_lag_p99_seconds'));
    const head = await call(server.port, '/metrics?x=1', 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
  });

  it('answers /healthz 200 while the event loop runs, 503 right after it was blocked, then 200 again', async () => {
    const metrics = createMetrics({ perEndpoint: false });
    await using server = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      registry: metrics.registry,
      logger,
      readiness: readyAll,
      heartbeatMs: 1000,
      stallMs: 300,
    });
    const ok = await call(server.port, '/healthz');
    assert.equal(ok.status, 200);
    assert.deepEqual(JSON.parse(ok.body), { status: 'ok' });

    // Blocked for 2 s, the 1 s heartbeat fires at least 1 s late, before the request is read.
    blockEventLoop(2000);
    const stalled = await call(server.port, '/healthz');
    assert.equal(stalled.status, 503, stalled.body);
    assert.equal(JSON.parse(stalled.body).status, 'event loop stalled');

    await waitFor(async () => (await call(server.port, '/healthz')).status === 200, { timeoutMs: 5000, what: '/healthz back to 200' });
  });

  it('answers /readyz 503 or 200 as the provider says, with its checks', async () => {
    const metrics = createMetrics({ perEndpoint: false });
    let state: Readiness = { ready: false, checks: { kafka: true, postgres: 'unreachable: ECONNREFUSED' } };
    await using server = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      registry: metrics.registry,
      logger,
      readiness: async () => state,
    });
    const first = await call(server.port, '/readyz');
    assert.equal(first.status, 503);
    assert.deepEqual(JSON.parse(first.body), { status: 'not ready', checks: state.checks });

    state = { ready: true, checks: { kafka: true, postgres: true } };
    const second = await call(server.port, '/readyz');
    assert.equal(second.status, 200);
    assert.deepEqual(JSON.parse(second.body), { status: 'ready', checks: { kafka: true, postgres: true } });

    state = { ready: false, checks: { kafka: true, postgres: true, shuttingDown: 'yes' } };
    assert.equal((await call(server.port, '/readyz')).status, 503);
  });

  it('answers /readyz 503 within a few seconds when the provider hangs or throws', async () => {
    const metrics = createMetrics({ perEndpoint: false });
    let calls = 0;
    let mode: 'hang' | 'throw' = 'hang';
    await using server = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      registry: metrics.registry,
      logger,
      readiness: (signal) => {
        calls += 1;
        assert.ok(signal instanceof AbortSignal);
        if (mode === 'throw') throw new Error('pool exhausted');
        return new Promise<Readiness>(() => {});
      },
    });
    const started = performance.now();
    const [a, b] = await Promise.all([call(server.port, '/readyz'), call(server.port, '/readyz')]);
    const elapsed = performance.now() - started;
    assert.equal(a.status, 503);
    assert.equal(b.status, 503);
    assert.match(JSON.parse(a.body).checks.readiness, /no answer within 2000 ms/);
    assert.ok(elapsed >= 1900 && elapsed < 4000, `answered after ${Math.round(elapsed)} ms`);
    assert.equal(calls, 1, 'concurrent probes share the one hung provider call');
    // /healthz and /metrics do not depend on the provider.
    assert.equal((await call(server.port, '/healthz')).status, 200);

    // Past the timeout, the next probe starts a fresh call instead of waiting on the hung one.
    mode = 'throw';
    const res = await call(server.port, '/readyz');
    assert.equal(res.status, 503);
    assert.deepEqual(JSON.parse(res.body).checks, { readiness: 'failed' });
    assert.equal(calls, 2);
  });

  it('reports a provider that throws as not ready with a generic reason, not the error text', async () => {
    const metrics = createMetrics({ perEndpoint: false });
    await using server = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      registry: metrics.registry,
      logger,
      readiness: async () => {
        throw new Error('connect ECONNREFUSED 10.1.2.3:5432 for user webhooks');
      },
    });
    const res = await call(server.port, '/readyz');
    assert.equal(res.status, 503);
    assert.deepEqual(JSON.parse(res.body), { status: 'not ready', checks: { readiness: 'failed' } });
  });

  it('answers 404 for unknown paths and 405 with Allow for other methods', async () => {
    const metrics = createMetrics({ perEndpoint: false });
    await using server = await startHttpServer({ host: '127.0.0.1', port: 0, registry: metrics.registry, logger, readiness: readyAll });
    assert.equal((await call(server.port, '/')).status, 404);
    assert.equal((await call(server.port, '/metrics/extra')).status, 404);
    assert.equal((await call(server.port, '/nope', 'POST')).status, 404);
    for (const method of ['POST', 'PUT', 'DELETE']) {
      const res = await call(server.port, '/metrics', method);
      assert.equal(res.status, 405, method);
      assert.equal(res.headers.allow, 'GET, HEAD');
    }
    assert.equal((await call(server.port, '/readyz', 'POST')).status, 405);
  });

  it('closes idempotently, on close() and on abort, dropping keep-alive connections', async () => {
    const metrics = createMetrics({ perEndpoint: false });
    const server = await startHttpServer({ host: '127.0.0.1', port: 0, registry: metrics.registry, logger, readiness: readyAll });
    // A keep-alive connection, as Prometheus holds one, must not keep close() waiting.
    const res = await fetch(`http://127.0.0.1:${server.port}/metrics`);
    await res.text();
    await Promise.all([server.close(), server.close()]);
    await server.close();
    await assert.rejects(call(server.port, '/healthz'), { code: 'ECONNREFUSED' });

    const controller = new AbortController();
    const second = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      registry: metrics.registry,
      logger,
      readiness: readyAll,
      signal: controller.signal,
    });
    assert.equal((await call(second.port, '/healthz')).status, 200);
    controller.abort();
    await second.close();
    await assert.rejects(call(second.port, '/healthz'), { code: 'ECONNREFUSED' });
  });

  it('fails to start on a port in use', async () => {
    const metrics = createMetrics({ perEndpoint: false });
    await using first = await startHttpServer({ host: '127.0.0.1', port: 0, registry: metrics.registry, logger, readiness: readyAll });
    await assert.rejects(
      startHttpServer({ host: '127.0.0.1', port: first.port, registry: metrics.registry, logger, readiness: readyAll }),
      { code: 'EADDRINUSE' },
    );
  });

  it('serves a scrape that promtool check metrics accepts', async () => {
    const promtool = findPromtool();
    assert.ok(promtool, 'promtool is not installed: run `bash scripts/check-observability.sh` once (it installs promtool), then rerun');
    const metrics = createMetrics({ perEndpoint: true });
    metrics.attemptFinished('5xx', 'call.ended', 'crm-sync', 0.4);
    metrics.deliveryReached('succeeded', 'call.ended', 'crm-sync', 3.2);
    metrics.retryLateness.observe({ tier: '5s' }, 0.02);
    metrics.consumerLag.set({ group: 'dialer-webhooks', topic: 'dialer.events' }, 12);
    await using server = await startHttpServer({ host: '127.0.0.1', port: 0, registry: metrics.registry, logger, readiness: readyAll });
    const scrape = await call(server.port, '/metrics');
    assert.equal(scrape.status, 200);

    const { status, output } = await pipe(promtool, ['check', 'metrics'], scrape.body);
    const problems = lintProblems(output);
    assert.ok(status === 0 || status === 3, `promtool check metrics could not read the scrape (exit ${status}): ${output}`);
    assert.deepEqual(problems, [], `promtool check metrics found problems:\n${output}`);
  });
});

/**
 * prom-client's default metrics name three gauges `nodejs_active_*_total`, which promtool's linter
 * flags; the names are prom-client's, kept for its dashboards. scripts/check-observability.sh
 * allows the same three.
 */
const KNOWN_DEFAULT_METRIC_LINTS = new Set([
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
]);

function lintProblems(output: string): string[] {
  return output
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !KNOWN_DEFAULT_METRIC_LINTS.has(l.split(' ', 1)[0]!));
}

/** promtool on PATH, or where scripts/check-observability.sh puts it when it cannot install system-wide. */
function findPromtool(): string | null {
  const onPath = spawnSync('promtool', ['--version'], { stdio: 'ignore' });
  if (onPath.status === 0) return 'promtool';
  const local = join(import.meta.dirname, '..', '..', '.cache', 'promtool', 'bin', 'promtool');
  return existsSync(local) ? local : null;
}

function pipe(command: string, args: string[], input: string): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, output }));
    child.stdin.end(input);
  });
}
