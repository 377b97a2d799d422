/**
 * Where the egress guard meets undici: the connect step of the delivery Agent. A host name is
 * resolved here, every address it resolves to is checked, and the socket connects to the checked
 * addresses themselves (net.connect's `lookup` hook), so a second, different DNS answer (DNS
 * rebinding) can never be what is connected to. IP-literal hosts are checked before any socket.
 *
 * With DELIVERY_PROXY_URL set, requests are tunnelled through that proxy (HTTP CONNECT) instead:
 * the proxy resolves names and enforces its own egress policy; the guard still refuses IP-literal
 * URLs before anything is sent (deliverer.ts), and the connection to the proxy itself is trusted
 * configuration, not checked.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import { Agent, buildConnector, ProxyAgent, type Dispatcher } from 'undici';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import { WebhooksError } from '../errors.ts';
import { blockedMessage, createEgressGuard, parseAllowNetworks, type EgressGuard } from './egress-guard.ts';

/** A connection the egress guard refused: no packet was sent to `address`. */
export class EgressBlockedError extends WebhooksError {
  override readonly code = 'WH_EGRESS_BLOCKED';
  readonly address: string;
  readonly reason: string;
  constructor(host: string, address: string, reason: string) {
    super(blockedMessage(host, { allowed: false, address, reason }));
    this.address = address;
    this.reason = reason;
  }
}

type Resolve = (
  hostname: string,
  options: LookupAllOptions,
  callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
) => void;

/**
 * A `lookup` for net.connect that resolves every address of a name and fails with
 * `EgressBlockedError` if any one is denied: a name with one internal address among public ones
 * is refused as a whole, whichever address the connection would try first. `resolve` is
 * dns.lookup (the system resolver, as net.connect would use) unless a test passes its own.
 */
export function guardedLookup(guard: EgressGuard, resolve: Resolve = dnsLookup): LookupFunction {
  return (hostname, options, callback) => {
    const family = options.family === 4 || options.family === 6 ? options.family : 0;
    resolve(hostname, { all: true, family, ...(options.hints === undefined ? {} : { hints: options.hints }) }, (err, addresses) => {
      if (err) return callback(err, '', 0);
      for (const { address } of addresses) {
        const decision = guard.check(address);
        if (!decision.allowed) return callback(new EgressBlockedError(hostname, decision.address, decision.reason), '', 0);
      }
      if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      const first = addresses[0];
      if (first === undefined) return callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), '', 0);
      callback(null, first.address, first.family);
    });
  };
}

/** An undici connector that applies the guard to IP literals and, through `lookup`, to names. */
export function guardedConnector(guard: EgressGuard, options: { timeoutMs: number; resolve?: Resolve }): buildConnector.connector {
  const connect = buildConnector({ timeout: options.timeoutMs, lookup: guardedLookup(guard, options.resolve) });
  return (opts, callback) => {
    // undici hands IPv6 literals over without brackets; net.connect skips `lookup` for literals.
    if (isIP(opts.hostname) !== 0) {
      const decision = guard.check(opts.hostname);
      if (!decision.allowed) {
        callback(new EgressBlockedError(opts.hostname, decision.address, decision.reason), null);
        return;
      }
    }
    connect(opts, callback);
  };
}

export interface DeliveryDispatcherOptions {
  guard: EgressGuard;
  /** DELIVERY_PROXY_URL, or null to connect directly. */
  proxyUrl: string | null;
  timeoutMs: number;
  /** undici's per-phase timeouts, backstops behind the deliverer's own deadline. */
  backstopTimeoutMs: number;
  connections: number | null;
  /** Resolver for direct connections (tests); default dns.lookup. */
  resolve?: Resolve;
}

/** The undici dispatcher every attempt goes through: guarded direct connections, or the proxy. */
export function createDeliveryDispatcher(options: DeliveryDispatcherOptions): Dispatcher {
  const common = {
    connections: options.connections,
    pipelining: 1,
    headersTimeout: options.backstopTimeoutMs,
    bodyTimeout: options.backstopTimeoutMs,
  };
  if (options.proxyUrl !== null) {
    return new ProxyAgent({ ...common, uri: options.proxyUrl, proxyTls: { timeout: options.timeoutMs } });
  }
  const connect = guardedConnector(options.guard, {
    timeoutMs: options.timeoutMs,
    ...(options.resolve ? { resolve: options.resolve } : {}),
  });
  return new Agent({ ...common, connect });
}

/**
 * The deliverer options every sender takes from the configuration (the dispatcher, the CLI's and
 * the web admin's test events): one guard, one HTTPS rule, one proxy for all of them.
 */
export function egressOptions(delivery: Readonly<Config['delivery']>): {
  guard: EgressGuard;
  requireHttps: boolean;
  proxyUrl: string | null;
} {
  return {
    guard: createEgressGuard(parseAllowNetworks(delivery.allowNetworks)),
    requireHttps: delivery.requireHttps,
    proxyUrl: delivery.proxyUrl,
  };
}

/** The start-up log lines: which networks the guard lets through, the proxy's origin, and a warning when REQUIRE_HTTPS is off. */
export function logEgressSettings(delivery: Readonly<Config['delivery']>, logger: Logger): void {
  const { allowNetworks, requireHttps, proxyUrl } = delivery;
  logger.info(
    { allowNetworks, requireHttps, proxy: proxyUrl === null ? null : safeOrigin(proxyUrl) },
    allowNetworks.length === 0
      ? 'egress guard: internal addresses denied, no network allowed'
      : 'egress guard: internal addresses denied except DELIVERY_ALLOW_NETWORKS',
  );
  if (!requireHttps) {
    logger.warn('REQUIRE_HTTPS is off: endpoints may use plain http, so payloads and signatures cross the network unencrypted');
  }
}

/** A URL's origin without credentials, for log lines and messages (paths and queries carry tokens). */
export function safeOrigin(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return 'invalid URL';
  }
}
