import { html, raw } from 'hono/html';
import type { AdminIdentity } from '../admin-auth.ts';
import { CSRF_FIELD } from '../admin-auth.ts';

/** What a view returns: escaped HTML (hono's `html` template escapes every interpolated value). */
export type Html = ReturnType<typeof html>;

export interface PageOptions {
  title: string;
  /** Breadcrumb after "Admin › Settings › Webhooks". */
  crumbs?: ReadonlyArray<readonly [label: string, href: string | null]>;
  identity: AdminIdentity | null;
  /** A notice at the top of the page. */
  flash?: { kind: 'ok' | 'error' | 'info'; text: string } | null;
}

// htmx settings: no inline indicator styles (the CSP forbids inline styles) and no eval.
const HTMX_CONFIG = JSON.stringify({ includeIndicatorStyles: false, allowEval: false, allowScriptTags: false });

/** The page shell: head with our own static assets only, header with the breadcrumb, main content. */
export function page(options: PageOptions, body: Html): Html {
  const crumbs = options.crumbs ?? [];
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="htmx-config" content="${HTMX_CONFIG}" />
        <title>${options.title} · Webhooks · Dialer.CX Admin</title>
        <link rel="icon" href="/static/favicon.svg" type="image/svg+xml" />
        <link rel="stylesheet" href="/static/layout.css" />
        <link rel="stylesheet" href="/static/lists.css" />
        <link rel="stylesheet" href="/static/forms.css" />
        <link rel="stylesheet" href="/static/pages.css" />
        <script src="/static/htmx.min.js" defer></script>
        <script src="/static/sse.js" defer></script>
      </head>
      <body>
        <header class="topbar">
          <a class="brand" href="/webhooks">Dialer.CX <span>Admin</span></a>
          <nav class="crumbs" aria-label="Breadcrumb">
            <span>Admin</span><span class="sep">›</span><span>Settings</span><span class="sep">›</span>
            <a href="/webhooks">Webhooks</a>
            ${crumbs.map(([label, href]) => html`<span class="sep">›</span>${href === null ? html`<span>${label}</span>` : html`<a href="${href}">${label}</a>`}`)}
          </nav>
          ${
            options.identity === null
              ? ''
              : html`<nav class="user">
                  <a href="/troubleshooting">Troubleshooting</a>
                  ${
                    options.identity.kind === 'session'
                      ? html`<form method="post" action="/sign-out" class="inline">
                          ${csrfInput(options.identity)}<button type="submit" class="link">Sign out</button>
                        </form>`
                      : html`<span class="muted">${options.identity.user}</span>`
                  }
                </nav>`
          }
        </header>
        <main>
          ${options.flash ? html`<div class="flash ${options.flash.kind}" role="status">${options.flash.text}</div>` : ''} ${body}
        </main>
      </body>
    </html>`;
}

export function csrfInput(identity: AdminIdentity): Html {
  return html`<input type="hidden" name="${CSRF_FIELD}" value="${identity.csrfToken}" />`;
}

/** `2026-03-07 15:30:00 UTC`, or a dash. */
export function formatTime(at: Date | null | undefined): string {
  if (at === null || at === undefined) return '—';
  return `${at
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d{3}Z$/, '')} UTC`;
}

/** `3 min ago`, for recent times beside the exact one. */
export function ago(at: Date | null | undefined, nowMs: number): string {
  if (at === null || at === undefined) return 'never';
  const s = Math.max(0, Math.round((nowMs - at.getTime()) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86_400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86_400)} d ago`;
}

export function timeCell(at: Date | null | undefined, nowMs: number): Html {
  if (at === null || at === undefined) return html`<span class="muted">never</span>`;
  return html`<time datetime="${at.toISOString()}" title="${formatTime(at)}">${ago(at, nowMs)}</time>`;
}

/** A status badge: 2xx green, 4xx/5xx red, no response grey. */
export function statusBadge(status: number | null, errorKind: string | null): Html {
  if (status === null) return html`<span class="badge grey">${errorKind ?? 'no response'}</span>`;
  const cls = status >= 200 && status < 300 ? 'green' : status >= 500 ? 'red' : status >= 400 ? 'orange' : 'grey';
  return html`<span class="badge ${cls}">${status}</span>`;
}

export function excerpt(text: string | null, max: number): string {
  if (text === null || text === '') return '';
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** The URL's origin only (scheme, host, port): paths may carry tokens that a list should not show. */
export function urlOrigin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}

export { raw };

/**
 * A form that works without script and, with htmx, posts in place and swaps in the same element
 * of the page the server answers with, so one route serves both (progressive enhancement).
 */
export function swapForm(action: string, target: string, className: string, body: Html, id?: string): Html {
  return html`<form
    method="post"
    action="${action}"
    class="${className}"
    hx-post="${action}"
    hx-target="#${target}"
    hx-select="#${target}"
    hx-swap="outerHTML"
    ${id === undefined ? '' : html`id="${id}"`}
  >
    ${body}
  </form>`;
}
