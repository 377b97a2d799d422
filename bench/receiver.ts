/**
 * The bench's webhook receiver: a plain node:http server in a process of its own, so its work
 * neither slows the bench driver nor is counted in the dispatcher's CPU. It listens on one port
 * per endpoint (each endpoint is then its own origin, as distinct customers are, and gets its own
 * undici connection pool) and records, per path, the arrival time of every request and the
 * latency from the event's `data.produced_at` (set by the bench producer) to the arrival.
 *
 * Run as `fork('bench/receiver.ts')`; the driver talks to it over IPC through `ReceiverClient`.
 */
import { fork, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { nowMs, round, Samples, summarize, type Summary } from './stats.ts';

/** How a path answers: 200; never (the request hangs until reset); or 500 for the first `n` attempts of each delivery id. */
export type RouteBehaviour = { kind: 'ok' } | { kind: 'hang' } | { kind: 'failFirst'; n: number };

export interface GroupStats {
  /** 2xx answers. */
  ok: number;
  /** Distinct `webhook-id`s among the 2xx answers (ok − unique = duplicate sends). */
  unique: number;
  /** Every request, failures and hung ones included. */
  requests: number;
  firstAt: number | null;
  lastAt: number | null;
  /** produced_at → arrival of 2xx-answered requests, ms. */
  latencyMs: Summary | null;
}

/** What every scenario reports of a group: 2xx answers, duplicate sends, first-to-last seconds and the rate. */
export function groupRate(g: GroupStats): Pick<GroupStats, 'latencyMs'> & {
  deliveries: number;
  duplicates: number;
  seconds: number;
  deliveriesPerS: number;
} {
  const seconds = g.firstAt !== null && g.lastAt !== null ? (g.lastAt - g.firstAt) / 1000 : NaN;
  return {
    deliveries: g.ok,
    duplicates: g.ok - g.unique,
    seconds: round(seconds, 3),
    deliveriesPerS: round(g.ok / seconds, 0),
    latencyMs: g.latencyMs,
  };
}

type Request =
  | { cmd: 'listen'; ports: number }
  | { cmd: 'routes'; routes: Record<string, RouteBehaviour> }
  | { cmd: 'counts' }
  | { cmd: 'stats'; groups: Record<string, string[]> }
  | { cmd: 'arrivals'; path: string }
  | { cmd: 'reset' }
  | { cmd: 'clear' };

// ---------------------------------------------------------------- the receiver process

interface Route {
  behaviour: RouteBehaviour;
  ok: number;
  requests: number;
  firstAt: number | null;
  lastAt: number | null;
  latency: Samples;
  ids: Set<string>;
  seen: Map<string, number[]> | null;
}

const PRODUCED_AT = Buffer.from('"produced_at":');

function producedAt(body: Buffer): number {
  const i = body.indexOf(PRODUCED_AT);
  if (i < 0) return NaN;
  const j = i + PRODUCED_AT.length;
  let end = j;
  while (end < body.length && end - j < 32) {
    const c = body[end]!;
    if ((c >= 0x30 && c <= 0x39) || c === 0x2e) end++;
    else break;
  }
  return Number(body.toString('latin1', j, end));
}

function runReceiver(): void {
  const routes = new Map<string, Route>();
  const hanging = new Set<http.ServerResponse>();
  const servers: http.Server[] = [];
  const cpuAtReset = { value: process.cpuUsage() };

  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const at = nowMs();
      const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      const route = routes.get(req.url ?? '');
      if (!route) {
        res.writeHead(404, { 'content-length': '0' }).end();
        return;
      }
      route.requests++;
      const b = route.behaviour;
      if (b.kind === 'hang') {
        hanging.add(res);
        res.on('close', () => hanging.delete(res));
        return;
      }
      let status = 200;
      if (b.kind === 'failFirst') {
        const id = String(req.headers['webhook-id']);
        let arrivals = route.seen!.get(id);
        if (!arrivals) route.seen!.set(id, (arrivals = []));
        arrivals.push(at);
        if (arrivals.length <= b.n) status = 500;
      }
      if (status === 200) {
        route.ok++;
        route.ids.add(String(req.headers['webhook-id']));
        route.firstAt ??= at;
        route.lastAt = at;
        const p = producedAt(body);
        if (Number.isFinite(p)) route.latency.push(at - p);
      }
      res.writeHead(status, { 'content-length': '0' }).end();
    });
  };

  const reply = (id: number, body: unknown): void => void process.send!({ id, ...(body as object) });

  process.on('message', async (msg: { id: number } & Request) => {
    switch (msg.cmd) {
      case 'listen': {
        const ports: number[] = [];
        for (let i = 0; i < msg.ports; i++) {
          const server = http.createServer({ keepAliveTimeout: 60_000, requestTimeout: 0 }, handler);
          await new Promise<void>((r) => server.listen(0, '127.0.0.1', 1024, r));
          servers.push(server);
          ports.push((server.address() as AddressInfo).port);
        }
        return reply(msg.id, { ports });
      }
      case 'routes':
      case 'reset':
      case 'clear': {
        // clear: the same routes, every statistic from zero (a warm-up's deliveries forgotten).
        const wanted =
          msg.cmd === 'routes' ? msg.routes : msg.cmd === 'clear' ? Object.fromEntries([...routes].map(([p, r]) => [p, r.behaviour])) : {};
        if (msg.cmd !== 'clear') {
          for (const res of hanging) res.destroy();
          hanging.clear();
        }
        routes.clear();
        for (const [path, behaviour] of Object.entries(wanted)) {
          routes.set(path, {
            behaviour,
            ok: 0,
            requests: 0,
            firstAt: null,
            lastAt: null,
            latency: new Samples(),
            ids: new Set(),
            seen: behaviour.kind === 'failFirst' ? new Map() : null,
          });
        }
        cpuAtReset.value = process.cpuUsage();
        return reply(msg.id, {});
      }
      case 'counts': {
        const counts: Record<string, { ok: number; requests: number }> = {};
        for (const [path, r] of routes) counts[path] = { ok: r.ok, requests: r.requests };
        const cpu = process.cpuUsage(cpuAtReset.value);
        return reply(msg.id, { counts, cpuS: (cpu.user + cpu.system) / 1e6 });
      }
      case 'stats': {
        const groups: Record<string, GroupStats> = {};
        for (const [name, paths] of Object.entries(msg.groups)) {
          const rs = paths.map((p) => routes.get(p)).filter((r): r is Route => r !== undefined);
          const all = new Float64Array(rs.reduce((n, r) => n + r.latency.length, 0));
          let offset = 0;
          for (const r of rs) {
            all.set(r.latency.values(), offset);
            offset += r.latency.length;
          }
          const firsts = rs.map((r) => r.firstAt).filter((v): v is number => v !== null);
          const lasts = rs.map((r) => r.lastAt).filter((v): v is number => v !== null);
          groups[name] = {
            ok: rs.reduce((n, r) => n + r.ok, 0),
            unique: rs.reduce((n, r) => n + r.ids.size, 0),
            requests: rs.reduce((n, r) => n + r.requests, 0),
            firstAt: firsts.length ? Math.min(...firsts) : null,
            lastAt: lasts.length ? Math.max(...lasts) : null,
            latencyMs: summarize(all),
          };
        }
        const cpu = process.cpuUsage(cpuAtReset.value);
        return reply(msg.id, { groups, cpuS: (cpu.user + cpu.system) / 1e6 });
      }
      case 'arrivals': {
        const seen = routes.get(msg.path)?.seen;
        return reply(msg.id, { arrivals: seen ? Object.fromEntries(seen) : {} });
      }
    }
  });
  process.on('disconnect', () => {
    for (const res of hanging) res.destroy();
    for (const s of servers) s.closeAllConnections();
    process.exit(0);
  });
}

if (import.meta.main) runReceiver();

// ---------------------------------------------------------------- the driver's side

/** The receiver process, seen from the bench driver. */
export class ReceiverClient {
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, (v: never) => void>();
  #next = 0;
  ports: number[] = [];

  private constructor(child: ChildProcess) {
    this.#child = child;
    child.on('message', (m: { id: number }) => {
      const resolve = this.#pending.get(m.id);
      this.#pending.delete(m.id);
      resolve?.(m as never);
    });
  }

  /** Starts the receiver process listening on `ports` ports of 127.0.0.1. */
  static async start(ports: number): Promise<ReceiverClient> {
    const child = fork(new URL('./receiver.ts', import.meta.url).pathname, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const client = new ReceiverClient(child);
    const r = await client.#call<{ ports: number[] }>({ cmd: 'listen', ports });
    client.ports = r.ports;
    return client;
  }

  get pid(): number {
    return this.#child.pid!;
  }

  #call<T>(req: Request): Promise<T> {
    const id = ++this.#next;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`receiver did not answer ${req.cmd} within 30 s`));
      }, 30_000);
      this.#pending.set(id, ((v: T) => (clearTimeout(timer), resolve(v))) as never);
      this.#child.send({ id, ...req });
    });
  }

  /** URL of endpoint `i` (its own port) under `path`. */
  url(i: number, path: string): string {
    return `http://127.0.0.1:${this.ports[i % this.ports.length]}${path}`;
  }

  /** Replaces the routes and clears every statistic (and cuts hanging requests). */
  async routes(routes: Record<string, RouteBehaviour>): Promise<void> {
    await this.#call({ cmd: 'routes', routes });
  }

  async reset(): Promise<void> {
    await this.#call({ cmd: 'reset' });
  }

  /** Keeps the routes and clears every statistic (counts, latencies, ids, the CPU baseline). */
  async clearStats(): Promise<void> {
    await this.#call({ cmd: 'clear' });
  }

  /** 2xx answers and requests per path so far, and the receiver's CPU seconds since the last reset. */
  counts(): Promise<{ counts: Record<string, { ok: number; requests: number }>; cpuS: number }> {
    return this.#call({ cmd: 'counts' });
  }

  /** Totals of the 2xx answers of `paths`. */
  async ok(paths: readonly string[]): Promise<number> {
    const { counts } = await this.counts();
    return paths.reduce((n, p) => n + (counts[p]?.ok ?? 0), 0);
  }

  stats(groups: Record<string, string[]>): Promise<{ groups: Record<string, GroupStats>; cpuS: number }> {
    return this.#call({ cmd: 'stats', groups });
  }

  /** Arrival times per delivery id on a `failFirst` path. */
  async arrivals(path: string): Promise<Record<string, number[]>> {
    return (await this.#call<{ arrivals: Record<string, number[]> }>({ cmd: 'arrivals', path })).arrivals;
  }

  close(): void {
    if (this.#child.connected) this.#child.disconnect();
  }
}
