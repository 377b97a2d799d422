import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';

/** What `/readyz` reports: `ready` decides the status code, `checks` are shown as they are. */
export interface Readiness {
  ready: boolean;
  checks: Record<string, boolean | string>;
}

export interface HttpServerOptions {
  host: string;
  /** 0 picks a free port; the chosen one is in the result's `port`. */
  port: number;
  registry: Registry;
  logger: Logger;
  /**
   * Asked on `/readyz`; throwing or taking longer than `readinessTimeoutMs` means not ready. The
   * signal aborts at that timeout, for the provider to pass to its own I/O.
   */
  readiness: (signal: AbortSignal) => Promise<Readiness>;
  /** Aborting it closes the server. */
  signal?: AbortSignal;
  /** Longest wait for the readiness provider, ms. Default 2000. */
  readinessTimeoutMs?: number;
  /** Period of the event loop heartbeat, ms. Default 1000. */
  heartbeatMs?: number;
  /** `/healthz` fails once the heartbeat is this late (the event loop was blocked), ms. Default 5000. */
  stallMs?: number;
}

export interface HttpServer extends AsyncDisposable {
  readonly port: number;
  /** Stops listening and drops open connections; safe to call more than once. */
  close(): Promise<void>;
}

/**
 * The metrics and health server: `GET /metrics` (Prometheus text format), `GET /healthz` (the
 * process is alive: its event loop is not stuck), `GET /readyz` (the provider says ready). HEAD is
 * answered like GET without a body; other methods get 405, other paths 404.
 *
 * Liveness: a timer ticks every `heartbeatMs`. If the loop was blocked, the overdue tick runs
 * before the pending request is read (timers come before I/O in a loop turn), sees how late it
 * is, and the request is answered 503. A loop blocked for good cannot answer at all, and the
 * probe's own timeout catches that.
 */
export async function startHttpServer(options: HttpServerOptions): Promise<HttpServer> {
  const { registry, logger, readiness } = options;
  const readinessTimeoutMs = options.readinessTimeoutMs ?? 2000;
  const heartbeatMs = options.heartbeatMs ?? 1000;
  const stallMs = options.stallMs ?? 5000;

  let lastTick = performance.now();
  let lastLateMs = 0;
  const heartbeat = setInterval(() => {
    const now = performance.now();
    lastLateMs = Math.max(0, now - lastTick - heartbeatMs);
    lastTick = now;
  }, heartbeatMs);
  heartbeat.unref();

  const liveness = (): { ok: boolean; lateMs: number } => {
    const lateMs = Math.max(lastLateMs, performance.now() - lastTick - heartbeatMs);
    return { ok: lateMs <= stallMs, lateMs: Math.round(lateMs) };
  };

  // Concurrent probes share one provider call, and a hung call is shared until it is older than
  // the timeout: probes then start a fresh one (so a call that never settles cannot pin "not
  // ready" forever), at most one per timeout period, and the aborted signal tells it to give up.
  let pending: { call: Promise<Readiness>; startedAt: number } | null = null;
  const checkReadiness = async (): Promise<Readiness> => {
    const now = performance.now();
    if (pending === null || now - pending.startedAt >= readinessTimeoutMs) {
      const signal = AbortSignal.timeout(readinessTimeoutMs);
      const entry: { call: Promise<Readiness>; startedAt: number } = {
        call: Promise.resolve()
          .then(() => readiness(signal))
          .finally(() => {
            if (pending === entry) pending = null;
          }),
        startedAt: now,
      };
      pending = entry;
    }
    const { call, startedAt } = pending;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<Readiness>((resolve) => {
      timer = setTimeout(
        () => resolve({ ready: false, checks: { readiness: `no answer within ${readinessTimeoutMs} ms` } }),
        Math.max(0, startedAt + readinessTimeoutMs - now),
      );
    });
    try {
      return await Promise.race([
        call.catch((err: unknown): Readiness => {
          logger.warn({ err }, 'readiness check failed');
          // The error text stays in the log: /readyz is unauthenticated and error texts name hosts.
          return { ready: false, checks: { readiness: 'failed' } };
        }),
        timeout,
      ]);
    } finally {
      clearTimeout(timer);
    }
  };

  const send = (req: IncomingMessage, res: ServerResponse, status: number, contentType: string, body: string): void => {
    res.writeHead(status, {
      'content-type': contentType,
      'content-length': Buffer.byteLength(body),
      'cache-control': 'no-store',
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
  const sendJson = (req: IncomingMessage, res: ServerResponse, status: number, value: unknown): void =>
    send(req, res, status, 'application/json; charset=utf-8', JSON.stringify(value));

  const routes: Record<string, (req: IncomingMessage, res: ServerResponse) => Promise<void> | void> = {
    '/metrics': async (req, res) => {
      send(req, res, 200, registry.contentType, await registry.metrics());
    },
    '/healthz': (req, res) => {
      const { ok, lateMs } = liveness();
      if (ok) sendJson(req, res, 200, { status: 'ok' });
      else sendJson(req, res, 503, { status: 'event loop stalled', heartbeatLateMs: lateMs });
    },
    '/readyz': async (req, res) => {
      const { ready, checks } = await checkReadiness();
      sendJson(req, res, ready ? 200 : 503, { status: ready ? 'ready' : 'not ready', checks });
    },
  };

  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0]!;
    const route = routes[path];
    if (route === undefined) {
      sendJson(req, res, 404, { error: 'not found' });
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      sendJson(req, res, 405, { error: 'method not allowed' });
      return;
    }
    Promise.resolve()
      .then(() => route(req, res))
      .catch((err: unknown) => {
        logger.error({ err, path }, 'health/metrics request failed');
        if (!res.headersSent) sendJson(req, res, 500, { error: 'internal error' });
        else res.destroy();
      });
  });
  // Probes and scrapers are local and short; don't let a slow client hold a socket for long.
  server.requestTimeout = 10_000;
  server.headersTimeout = 10_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch((err: unknown) => {
    clearInterval(heartbeat);
    throw err;
  });
  server.on('error', (err) => logger.error({ err }, 'metrics/health server error'));
  const port = (server.address() as AddressInfo).port;
  logger.info({ host: options.host, port }, 'metrics and health server listening');

  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      clearInterval(heartbeat);
      options.signal?.removeEventListener('abort', onAbort);
      server.close(() => resolve());
      // Keep-alive sockets (Prometheus holds one) would keep close() waiting.
      server.closeAllConnections();
    });
    return closing;
  };
  const onAbort = (): void => void close();
  if (options.signal?.aborted) await close();
  else options.signal?.addEventListener('abort', onAbort, { once: true });

  return { port, close, [Symbol.asyncDispose]: close };
}
