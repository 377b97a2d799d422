import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request an endpoint received, as its own log has it. */
export interface Reception {
  endpoint: string;
  /** `data.call_id` of the body: the campaign's event id. */
  eventId: string;
  /** The `webhook-id` header: the delivery id. */
  webhookId: string;
  /** When the request had been read, ms since the epoch. */
  at: number;
  /** The status answered; null while unanswered or when the client went away first. */
  status: number | null;
}

export type EndpointKind = 'healthy' | 'flaky' | 'slow' | 'hang' | 'ordered';

/** How many first attempts of each delivery the flaky endpoint refuses, and the slow one's delay. */
export const FLAKY_FAILURES = 2;
export const SLOW_MS = 300;

/**
 * The ordered endpoint (`ordering = 'per_key'`) refuses the first attempt of each delivery, so
 * later events of a key are parked behind a retrying head, and every attempt of events whose
 * number ends in 5, so some heads go dead and must release the next.
 */
export function orderedAnswer(eventId: string, attempt: number): number {
  return /5$/.test(eventId) || attempt <= 1 ? 503 : 200;
}

/**
 * A loopback webhook endpoint with its own port and request log: healthy (200), flaky (503 for
 * the first attempts of each delivery, then 200), slow (200 after a delay) or hang (never
 * answers); `ordered` is the per-key endpoint (see orderedAnswer). It can go away (connections refused) and come back on the same port.
 */
export class ChaosReceiver {
  readonly kind: EndpointKind;
  readonly log: Reception[] = [];
  port = 0;
  #server: http.Server | null = null;
  readonly #open = new Set<http.ServerResponse>();
  readonly #seen = new Map<string, number>();

  constructor(kind: EndpointKind) {
    this.kind = kind;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/${this.kind}`;
  }

  async listen(): Promise<void> {
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => this.#handle(req, res, Buffer.concat(chunks)));
    });
    server.keepAliveTimeout = 5000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.#server = server;
  }

  #handle(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer): void {
    let eventId = '';
    try {
      eventId = String((JSON.parse(body.toString('utf8')) as { data?: { call_id?: unknown } }).data?.call_id ?? '');
    } catch {
      // Not JSON: kept with an empty event id, which no expected pair matches.
    }
    const webhookId = String(req.headers['webhook-id'] ?? '');
    const rec: Reception = { endpoint: this.kind, eventId, webhookId, at: Date.now(), status: null };
    this.log.push(rec);
    this.#open.add(res);
    res.on('close', () => this.#open.delete(res));
    const answer = (status: number): void => {
      if (res.destroyed || res.writableEnded) return;
      rec.status = status;
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : 'try again');
    };
    const n = (this.#seen.get(webhookId) ?? 0) + 1;
    this.#seen.set(webhookId, n);
    if (this.kind === 'healthy') answer(200);
    else if (this.kind === 'flaky') answer(n <= FLAKY_FAILURES ? 503 : 200);
    else if (this.kind === 'ordered') answer(orderedAnswer(eventId, n));
    else if (this.kind === 'slow') setTimeout(() => answer(200), SLOW_MS);
    // 'hang': never answered; the dispatcher's timeout ends it.
  }

  /** Gone: stops listening and drops every open connection. */
  async close(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = null;
    for (const res of this.#open) res.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
