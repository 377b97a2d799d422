import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { deleteCookie, getSignedCookie, setSignedCookie } from 'hono/cookie';
import { csrf } from 'hono/csrf';
import type { AdminConfig } from '../config.ts';

// Who may use the web admin, and proof that a change came from our own pages.
//
// Three ways in: a session cookie from the sign-in page (browsers), `Authorization: Bearer
// <ADMIN_TOKEN>` (scripts), and, when ADMIN_AUTH_PROXY_HEADER is set, a trusted auth proxy's user
// header. A cookie and a proxy header are sent by the browser on its own, so every change made
// with them must also carry the CSRF token of that session (a hidden `_csrf` field) and pass
// Hono's Origin / Sec-Fetch-Site check. A bearer token is never sent on its own, so it needs neither.

export const SESSION_COOKIE = 'wh_admin_session';
export const CSRF_FIELD = '_csrf';

/** Who is signed in and how; `csrfToken` is what this identity's forms must send back. */
export interface AdminIdentity {
  kind: 'session' | 'bearer' | 'proxy';
  user: string;
  csrfToken: string;
}

export type AdminEnv = { Variables: { identity: AdminIdentity } };

/** Constant-time comparison of a presented token with ADMIN_TOKEN (hashed first: equal lengths). */
export function tokenMatches(presented: string, token: string): boolean {
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(token).digest();
  return timingSafeEqual(a, b);
}

/** Keys derived from ADMIN_TOKEN: changing the token signs every session out. */
export interface AdminKeys {
  cookieSecret: string;
  csrfKey: Buffer;
}

export function deriveKeys(token: string): AdminKeys {
  return {
    cookieSecret: createHmac('sha256', token).update('dialer-webhooks admin session cookie').digest('base64url'),
    csrfKey: createHmac('sha256', token).update('dialer-webhooks admin csrf').digest(),
  };
}

function csrfTokenFor(keys: AdminKeys, subject: string): string {
  return createHmac('sha256', keys.csrfKey).update(subject).digest('base64url');
}

/** A session is `<expires ms>.<random id>`, signed; the expiry is checked here, not only by the browser. */
export function parseSession(value: string | false | undefined, nowMs: number): { expiresAt: number; id: string } | null {
  if (typeof value !== 'string') return null;
  const m = /^(\d{13,16})\.([A-Za-z0-9_-]{16,64})$/.exec(value);
  if (!m) return null;
  const expiresAt = Number(m[1]);
  return expiresAt > nowMs ? { expiresAt, id: m[2]! } : null;
}

export async function startSession(c: Context, config: AdminConfig, keys: AdminKeys, nowMs: number): Promise<void> {
  const value = `${nowMs + config.sessionTtlMs}.${randomBytes(18).toString('base64url')}`;
  await setSignedCookie(c, SESSION_COOKIE, value, keys.cookieSecret, {
    httpOnly: true,
    sameSite: 'Strict',
    secure: config.cookieSecure,
    path: '/',
    maxAge: Math.floor(config.sessionTtlMs / 1000),
  });
}

export function endSession(c: Context, config: AdminConfig): void {
  deleteCookie(c, SESSION_COOKIE, { path: '/', secure: config.cookieSecure, httpOnly: true, sameSite: 'Strict' });
}

/** Works out who sent the request, or null. */
export async function identify(c: Context, config: AdminConfig, keys: AdminKeys, nowMs: number): Promise<AdminIdentity | null> {
  const authorization = c.req.header('authorization');
  if (authorization !== undefined) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (m && tokenMatches(m[1]!, config.token)) return { kind: 'bearer', user: 'token', csrfToken: csrfTokenFor(keys, 'bearer') };
    // A wrong bearer token is refused even when a cookie came along.
    return null;
  }
  if (config.authProxyHeader !== null) {
    const user = c.req.header(config.authProxyHeader)?.trim();
    if (user) return { kind: 'proxy', user, csrfToken: csrfTokenFor(keys, `proxy.${user}`) };
  }
  const session = parseSession(await getSignedCookie(c, keys.cookieSecret, SESSION_COOKIE), nowMs);
  if (session) return { kind: 'session', user: 'admin', csrfToken: csrfTokenFor(keys, `session.${session.id}`) };
  return null;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Refuses requests without an identity (pages redirect to the sign-in page, everything else gets
 * 401) and changes without the identity's CSRF token.
 */
export function requireAdmin(config: AdminConfig, keys: AdminKeys, now: () => number): MiddlewareHandler<AdminEnv> {
  const originCheck = csrf();
  return async (c, next) => {
    const identity = await identify(c, config, keys, now());
    if (identity === null) {
      const wantsPage = c.req.method === 'GET' && (c.req.header('accept') ?? '').includes('text/html') && !c.req.header('hx-request');
      if (wantsPage) return c.redirect(`/sign-in?next=${encodeURIComponent(c.req.path)}`, 303);
      c.header('WWW-Authenticate', 'Bearer realm="dialer-webhooks admin"');
      return c.text('Sign in first: open /sign-in, or send Authorization: Bearer <ADMIN_TOKEN>.\n', 401);
    }
    c.set('identity', identity);
    if (SAFE_METHODS.has(c.req.method) || identity.kind === 'bearer') return next();
    // Throws a 403 HTTPException when the Origin / Sec-Fetch-Site say another site sent it.
    await originCheck(c, async () => {});
    const body = await c.req.parseBody();
    const presented = c.req.header('x-csrf-token') ?? body[CSRF_FIELD];
    if (typeof presented !== 'string' || !tokenMatches(presented, identity.csrfToken)) {
      return c.text(
        'This form has expired or did not come from this admin (missing or wrong CSRF token). Reload the page and try again.\n',
        403,
      );
    }
    return next();
  };
}
