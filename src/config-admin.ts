import { type Env, bool, deepFreeze, int, parseDuration, read, str } from './config-values.ts';
import { ConfigError } from './errors.ts';

/** The web admin's own settings (`dialer-webhooks admin`); the service never reads them. */
export interface AdminConfig {
  /** ADMIN_TOKEN: the shared admin token, at least 32 characters. Required; no default. */
  token: string;
  /** ADMIN_HTTP_HOST: address the web admin listens on. Default `127.0.0.1` (this machine only). */
  host: string;
  /** ADMIN_HTTP_PORT: port of the web admin; 0 picks a free one. Default 8080. */
  port: number;
  /** ADMIN_SESSION_TTL: how long a sign-in lasts (`12h`, `30m`; units ms, s, m, h). Default 12h. */
  sessionTtlMs: number;
  /** ADMIN_COOKIE_SECURE: mark the session cookie Secure (set it when users reach the admin over HTTPS). Default false. */
  cookieSecure: boolean;
  /**
   * ADMIN_AUTH_PROXY_HEADER: a request header set by a trusted auth proxy (SSO gateway) naming the
   * signed-in user, e.g. `X-Forwarded-User`. Only set it when nothing but that proxy can reach the
   * admin. Default none (off).
   */
  authProxyHeader: string | null;
}

/** Minimum length of ADMIN_TOKEN: a shorter shared secret is guessable. */
export const ADMIN_TOKEN_MIN_LENGTH = 32;

/** Parses the web admin's settings from `adminEnv` (src/config.ts passes the environment). */
// Its parameter is `adminEnv`, not `env`: scripts/check-deploy.sh collects the dispatcher's variables
// from the `(env, NAME` calls in this file, and these belong to the admin's Deployment only.
export function parseAdminConfig(adminEnv: Env): Readonly<AdminConfig> {
  const token = read(adminEnv, 'ADMIN_TOKEN');
  if (token === undefined) {
    throw new ConfigError(
      'ADMIN_TOKEN',
      `required: the web admin refuses to start without a token of at least ${ADMIN_TOKEN_MIN_LENGTH} characters (e.g. openssl rand -hex 32)`,
    );
  }
  if (token.length < ADMIN_TOKEN_MIN_LENGTH) {
    throw new ConfigError(
      'ADMIN_TOKEN',
      `must be at least ${ADMIN_TOKEN_MIN_LENGTH} characters, got ${token.length} (e.g. openssl rand -hex 32)`,
    );
  }
  const ttlRaw = str(adminEnv, 'ADMIN_SESSION_TTL', '12h');
  const sessionTtlMs = parseDuration(ttlRaw);
  if (sessionTtlMs === null || sessionTtlMs < 60_000 || sessionTtlMs > 30 * 86_400_000) {
    throw new ConfigError('ADMIN_SESSION_TTL', `expected a duration between 1m and 720h, like 12h or 30m, got ${JSON.stringify(ttlRaw)}`);
  }
  const proxyHeader = read(adminEnv, 'ADMIN_AUTH_PROXY_HEADER') ?? null;
  if (proxyHeader !== null && !/^[A-Za-z0-9-]{1,100}$/.test(proxyHeader)) {
    throw new ConfigError('ADMIN_AUTH_PROXY_HEADER', `${JSON.stringify(proxyHeader)} is not an HTTP header name`);
  }
  return deepFreeze({
    token,
    host: str(adminEnv, 'ADMIN_HTTP_HOST', '127.0.0.1'),
    port: int(adminEnv, 'ADMIN_HTTP_PORT', 8080, 0, 65_535),
    sessionTtlMs,
    cookieSecure: bool(adminEnv, 'ADMIN_COOKIE_SECURE', false),
    authProxyHeader: proxyHeader === null ? null : proxyHeader.toLowerCase(),
  });
}
