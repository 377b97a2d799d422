import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { waitFor } from './wait-for.ts';

/** One request the receiver got, with the results of both signature checks. */
export interface ReceivedRequest {
  path: string;
  at: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  json: { event: string; timestamp: string; data: Record<string, unknown> };
  /** The spec's Node snippet (hex HMAC-SHA256 of the raw body), with the path's secret. */
  specSignatureValid: boolean;
  /** The standardwebhooks npm package's verify(), with the path's secret. */
  standardSignatureValid: boolean;
}

/** How a path answers: a status, or hang (never answer), or a function of the request count. */
export type Behaviour =
  | number
  | 'hang'
  | { redirect: string }
  | ((
      n: number,
      req: http.IncomingMessage,
    ) => { status: number; headers?: Record<string, string>; body?: string; afterMs?: number } | 'hang');

/** The spec's verification snippet, verbatim in logic (an independent implementation). */
function verifyWebhook(body: Buffer, signature: string, secret: string): boolean {
  const computed = crypto.createHmac('sha256', secret).update(body).digest('hex');
  const a = Buffer.from(computed);
  const b = Buffer.from(signature);
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}

/**
 * A real HTTP webhook receiver on 127.0.0.1 for tests: each path is an endpoint with its own
 * secret(s) and behaviour; every request is recorded with both signatures verified.
 */
export class TestReceiver {
  readonly requests: ReceivedRequest[] = [];
  readonly #server: http.Server;
  readonly #paths = new Map<string, { secrets: string[]; behaviour: Behaviour; count: number; open: number; maxOpen: number }>();
  readonly #hanging = new Set<http.ServerResponse>();
  #open = 0;
  #maxOpen = 0;
  port = 0;

  constructor() {
    this.#server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => this.#handle(req, res, Buffer.concat(chunks)));
    });
    this.#server.keepAliveTimeout = 30_000;
  }

  static async start(): Promise<TestReceiver> {
    const r = new TestReceiver();
    await new Promise<void>((resolve) => r.#server.listen(0, '127.0.0.1', resolve));
    r.port = (r.#server.address() as AddressInfo).port;
    return r;
  }

  /** Registers a path; returns its URL. `secrets`: the secrets a receiver holds (any may verify). */
  route(path: string, secrets: string | string[], behaviour: Behaviour = 200): string {
    this.#paths.set(path, { secrets: Array.isArray(secrets) ? secrets : [secrets], behaviour, count: 0, open: 0, maxOpen: 0 });
    return this.url(path);
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  /** The most requests to `path` the receiver held unanswered at one time. */
  maxConcurrent(path: string): number {
    return this.#paths.get(path)?.maxOpen ?? 0;
  }

  /** The most requests, to any path, the receiver held unanswered at one time. */
  get maxConcurrentTotal(): number {
    return this.#maxOpen;
  }

  to(path: string): ReceivedRequest[] {
    return this.requests.filter((r) => r.path === path);
  }

  /** Resolves when `predicate` holds over the requests so far (the shared `waitFor`, polling). */
  async waitFor(predicate: (requests: ReceivedRequest[]) => boolean, timeoutMs = 30_000, what = 'requests'): Promise<void> {
    await waitFor(() => predicate(this.requests), { timeoutMs, what: `receiver: ${what}`, intervalMs: 20 });
  }

  #handle(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer): void {
    const path = (req.url ?? '/').split('?')[0]!;
    const route = this.#paths.get(path);
    const secrets = route?.secrets ?? [];
    const sig = String(req.headers['x-webhook-signature'] ?? '');
    let json: ReceivedRequest['json'];
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch {
      json = { event: '', timestamp: '', data: {} };
    }
    const record: ReceivedRequest = {
      path,
      at: Date.now(),
      headers: req.headers,
      body,
      json,
      specSignatureValid: secrets.some((s) => verifyWebhook(body, sig, s)),
      standardSignatureValid: secrets.some((s) => {
        try {
          new Webhook(s.startsWith('whsec_') ? s : Buffer.from(s).toString('base64')).verify(body, {
            'webhook-id': String(req.headers['webhook-id']),
            'webhook-timestamp': String(req.headers['webhook-timestamp']),
            'webhook-signature': String(req.headers['webhook-signature']),
          });
          return true;
        } catch {
          return false;
        }
      }),
    };
    this.requests.push(record);
    const n = route ? ++route.count : 0;
    if (route) {
      route.maxOpen = Math.max(route.maxOpen, ++route.open);
      res.on('close', () => route.open--);
    }
    this.#maxOpen = Math.max(this.#maxOpen, ++this.#open);
    res.on('close', () => this.#open--);
    let behaviour: Behaviour = route?.behaviour ?? 404;
    let headers: Record<string, string> = {};
    let text = 'ok';
    let afterMs = 0;
    if (typeof behaviour === 'function') {
      const r = behaviour(n, req);
      if (r === 'hang') behaviour = 'hang';
      else {
        behaviour = r.status;
        headers = r.headers ?? {};
        text = r.body ?? text;
        afterMs = r.afterMs ?? 0;
      }
    }
    if (behaviour === 'hang') {
      this.#hanging.add(res);
      res.on('close', () => this.#hanging.delete(res));
      return;
    }
    if (typeof behaviour === 'object') {
      res.writeHead(302, { location: behaviour.redirect }).end();
      return;
    }
    const status = behaviour;
    const answer = (): void => {
      if (!res.destroyed) res.writeHead(status, { 'content-type': 'text/plain', ...headers }).end(text);
    };
    if (afterMs > 0) setTimeout(answer, afterMs);
    else answer();
  }

  async close(): Promise<void> {
    for (const res of this.#hanging) res.destroy();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * A behaviour failing the first `k` requests of every delivery (told apart by `webhook-id`) with
 * `status`, then answering 200. `counts` holds the requests seen per delivery.
 */
export function failFirst(k: number, status = 503): Behaviour & { counts: Map<string, number> } {
  const counts = new Map<string, number>();
  const behaviour = (_n: number, req: http.IncomingMessage): { status: number; body: string } => {
    const id = String(req.headers['webhook-id']);
    const c = (counts.get(id) ?? 0) + 1;
    counts.set(id, c);
    return c <= k ? { status, body: `fail ${c}` } : { status: 200, body: 'ok' };
  };
  return Object.assign(behaviour, { counts });
}
