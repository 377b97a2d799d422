import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Hono } from 'hono';
import { csrf } from 'hono/csrf';
import { html } from 'hono/html';
import { secureHeaders } from 'hono/secure-headers';
import { streamSSE } from 'hono/streaming';
import { deriveKeys, endSession, identify, requireAdmin, startSession, tokenMatches, type AdminEnv } from './admin-auth.ts';
import type { AdminDeps } from './admin-deps.ts';
import { listEndpoints } from '../endpoints/endpoint-store.ts';
import { endpointHealth, troubleshootingFacts } from './admin-queries.ts';
import { deliveryRoutes } from './delivery-routes.ts';
import { endpointRoutes } from './endpoint-routes.ts';
import { noticeFrom } from './page-helpers.ts';
import { page } from './views/layout.ts';
import { signInPage } from './views/sign-in-page.ts';
import { troubleshootingPage } from './views/troubleshooting-page.ts';
import { webhooksPage } from './views/webhooks-page.ts';

const require = createRequire(import.meta.url);

// Served from the installed packages and this folder: no CDN, no build step.
const STATIC: Record<string, { path: string; type: string }> = {
  'htmx.min.js': { path: require.resolve('htmx.org/dist/htmx.min.js'), type: 'text/javascript; charset=utf-8' },
  'sse.js': { path: require.resolve('htmx-ext-sse/dist/sse.js'), type: 'text/javascript; charset=utf-8' },
  'layout.css': { path: new URL('./static/layout.css', import.meta.url).pathname, type: 'text/css; charset=utf-8' },
  'lists.css': { path: new URL('./static/lists.css', import.meta.url).pathname, type: 'text/css; charset=utf-8' },
  'forms.css': { path: new URL('./static/forms.css', import.meta.url).pathname, type: 'text/css; charset=utf-8' },
  'pages.css': { path: new URL('./static/pages.css', import.meta.url).pathname, type: 'text/css; charset=utf-8' },
  'favicon.svg': { path: new URL('./static/favicon.svg', import.meta.url).pathname, type: 'image/svg+xml' },
};

/** Only a path of this admin is a place to return to after signing in. */
function safeNext(next: string | undefined): string {
  return next !== undefined && /^\/[A-Za-z0-9/_-]*$/.test(next) && !next.startsWith('//') ? next : '/webhooks';
}

/** How often an idle event stream sends a comment, so proxies do not cut it, ms. */
const SSE_KEEPALIVE_MS = 25_000;

/** The web admin as a Hono app: every page and action, behind sign-in, CSRF and strict headers. */
export function createAdminApp(deps: AdminDeps): Hono<AdminEnv> {
  const { config, logger } = deps;
  const now = deps.now ?? Date.now;
  const keys = deriveKeys(config.token);
  const assets = new Map(Object.entries(STATIC).map(([name, s]) => [name, { body: readFileSync(s.path), type: s.type }]));
  const app = new Hono<AdminEnv>();

  app.onError((err, c) => {
    if ('getResponse' in err && typeof err.getResponse === 'function') return err.getResponse() as Response;
    logger.error({ err, path: c.req.path }, 'web admin request failed');
    return c.html(
      page(
        { title: 'Error', identity: null },
        html`<div class="card narrow">
          <h1>Something went wrong</h1>
          <p>The request failed; the details are in the admin's log.</p>
          <a class="button" href="/webhooks">Back to Webhooks</a>
        </div>`,
      ),
      500,
    );
  });

  app.use(
    secureHeaders({
      contentSecurityPolicy: {
        defaultSrc: ["'none'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
      },
      xFrameOptions: 'DENY',
      referrerPolicy: 'no-referrer',
    }),
  );
  app.use(async (c, next) => {
    await next();
    // Pages show secrets and live data: never stored by a browser or a proxy.
    c.header('Cache-Control', 'no-store');
  });

  app.get('/healthz', (c) => c.text('ok\n'));

  app.get('/static/:file', (c) => {
    const asset = assets.get(c.req.param('file'));
    if (asset === undefined) return c.text('not found\n', 404);
    return c.body(new Uint8Array(asset.body), 200, { 'Content-Type': asset.type });
  });

  app.get('/sign-in', async (c) => {
    if ((await identify(c, config, keys, now())) !== null) return c.redirect(safeNext(c.req.query('next')), 303);
    return c.html(signInPage({ next: safeNext(c.req.query('next')), error: null, signedOut: c.req.query('signed_out') === '1' }));
  });

  // Signing in sets a cookie, so it gets the Origin check too (login CSRF).
  app.post('/sign-in', csrf(), async (c) => {
    const form = await c.req.parseBody();
    const next = safeNext(typeof form.next === 'string' ? form.next : undefined);
    if (typeof form.token !== 'string' || !tokenMatches(form.token, config.token)) {
      logger.warn({ remote: c.req.header('x-forwarded-for') ?? null }, 'web admin sign-in refused: wrong token');
      return c.html(
        signInPage({ next, error: 'That token is not right. Use the ADMIN_TOKEN of this installation.', signedOut: false }),
        401,
      );
    }
    await startSession(c, config, keys, now());
    logger.info('web admin sign-in');
    return c.redirect(next, 303);
  });

  app.use(requireAdmin(config, keys, now));

  app.post('/sign-out', (c) => {
    endSession(c, config);
    return c.redirect('/sign-in?signed_out=1', 303);
  });

  app.get('/', (c) => c.redirect('/webhooks', 303));

  app.get('/webhooks', async (c) => {
    const [endpoints, health] = await Promise.all([listEndpoints(deps.db), endpointHealth(deps.db)]);
    return c.html(webhooksPage({ identity: c.get('identity'), endpoints, health, nowMs: now(), flash: noticeFrom(c.req.query()) }));
  });

  // Server-sent events: `endpoints-changed` after every change to webhooks.endpoints (LISTEN).
  app.get('/webhooks/live', (c) =>
    streamSSE(c, async (stream) => {
      let changed = false;
      let wake: (() => void) | null = null;
      const unsubscribe = deps.live.subscribe(() => {
        changed = true;
        wake?.();
      });
      const closed = deps.live.closed;
      const onClose = (): void => wake?.();
      closed.addEventListener('abort', onClose);
      stream.onAbort(() => wake?.());
      try {
        await stream.writeSSE({ event: 'ready', data: 'listening', retry: 2000 });
        while (!stream.aborted && !closed.aborted) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, SSE_KEEPALIVE_MS);
            wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          wake = null;
          if (stream.aborted || closed.aborted) break;
          if (changed) {
            changed = false;
            await stream.writeSSE({ event: 'endpoints-changed', data: String(now()) });
          } else {
            await stream.write(': keep-alive\n\n');
          }
        }
      } finally {
        unsubscribe();
        closed.removeEventListener('abort', onClose);
      }
    }),
  );

  app.route('/webhooks', endpointRoutes(deps));
  app.route('/deliveries', deliveryRoutes(deps));

  app.get('/troubleshooting', async (c) => {
    const endpoints = await listEndpoints(deps.db);
    const rows = await Promise.all(
      endpoints.map(async (endpoint) => ({ endpoint, facts: await troubleshootingFacts(deps.db, endpoint.id, endpoint.eventTypes) })),
    );
    return c.html(troubleshootingPage(c.get('identity'), rows));
  });

  return app;
}
