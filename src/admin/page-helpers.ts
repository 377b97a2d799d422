import type { Context } from 'hono';
import { html } from 'hono/html';
import { findEventTypes } from '../events/catalog-reads.ts';
import type { AdminEnv, AdminIdentity } from './admin-auth.ts';
import type { AdminDeps } from './admin-deps.ts';
import type { EndpointRecord } from '../endpoints/endpoint-store.ts';
import { endpointHealth, isLogCursor, listLogEntries, LOG_OUTCOMES, type LogFilter } from './admin-queries.ts';
import type { EventTypeInfo } from './views/endpoint-form.ts';
import { endpointPage, type TestEventResult } from './views/endpoint-page.ts';
import { page, type Html } from './views/layout.ts';

/** The catalog's types (webhooks.event_types) by name, with their "Triggered when" text. */
export async function loadEventTypes(deps: AdminDeps): Promise<EventTypeInfo[]> {
  return (await findEventTypes(deps.db)).map(({ name, description }) => ({ name, description }));
}

// The shape of a catalog name (migration 0006's check): enough to drop junk from a query string
// without a query; an unknown name simply matches no row.
const EVENT_TYPE_NAME = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;

/** The log filter from a page's query string; bad values are dropped rather than refused. */
export function logFilterFrom(endpointId: string, q: Record<string, string>): LogFilter {
  const time = (s: string | undefined): Date | undefined => {
    if (s === undefined || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(s)) return undefined;
    const d = new Date(`${s}Z`);
    return Number.isNaN(d.getTime()) ? undefined : d;
  };
  const outcome = LOG_OUTCOMES.find((o) => o === q.status);
  const eventType = EVENT_TYPE_NAME.test(q.event ?? '') ? q.event : undefined;
  const since = time(q.since);
  const until = time(q.until);
  return {
    endpointId,
    limit: 25,
    ...(outcome ? { outcome } : {}),
    ...(eventType ? { eventType } : {}),
    ...(since ? { since } : {}),
    ...(until ? { until } : {}),
    ...(q.after !== undefined && isLogCursor(q.after) ? { after: q.after } : {}),
  };
}

type Flash = { kind: 'ok' | 'error' | 'info'; text: string } | null;

/** The endpoint page with its health and the delivery log page the query asks for. */
export async function endpointPageView(
  deps: AdminDeps,
  identity: AdminIdentity,
  endpoint: EndpointRecord,
  query: Record<string, string>,
  extra: { flash?: Flash; revealedSecret?: boolean; testResult?: TestEventResult },
): Promise<Html> {
  const filter = logFilterFrom(endpoint.id, query);
  const [health, eventTypes, log] = await Promise.all([
    endpointHealth(deps.db, endpoint.id),
    loadEventTypes(deps),
    listLogEntries(deps.db, filter),
  ]);
  const kept = Object.fromEntries(Object.entries(query).filter(([k]) => ['status', 'event', 'since', 'until'].includes(k)));
  return endpointPage({
    identity,
    endpoint,
    health: health.get(endpoint.id),
    eventTypes,
    log: { ...log, filter, query: kept },
    nowMs: (deps.now ?? Date.now)(),
    flash: extra.flash ?? null,
    revealedSecret: extra.revealedSecret ?? false,
    testResult: extra.testResult ?? null,
  });
}

const NOTICES: Record<string, string> = {
  created: 'Webhook added. It receives matching events from now on.',
  saved: 'Saved. Dispatchers use the change at once.',
  deleted: 'Webhook deleted.',
  rotated: 'Secret rotated. Give the receiver the new secret before the overlap ends.',
  redelivered: 'Redelivery requested: the dispatcher sends it within seconds.',
};

/** A fixed notice named by `?notice=`: never text from the query string itself. */
export function noticeFrom(q: Record<string, string>): Flash {
  if (q.notice === 'recovered') {
    const n = Number(q.count);
    return { kind: 'ok', text: `Redelivery requested for ${Number.isSafeInteger(n) ? n : 0} deliveries.` };
  }
  const text = q.notice === undefined ? undefined : NOTICES[q.notice];
  return text === undefined ? null : { kind: 'ok', text };
}

/** The message (and hint) of an error raised by our SQL functions for admins, or null for anything else. */
export function pgProblem(err: unknown): string | null {
  if (!(err instanceof Error)) return null;
  const e = err as Error & { code?: unknown; hint?: unknown };
  if (typeof e.code !== 'string' || !/^[0-9A-Z]{5}$/.test(e.code) || !['P0', '55', '02', '22', '23'].includes(e.code.slice(0, 2)))
    return null;
  return `${e.message}${typeof e.hint === 'string' ? ` — ${e.hint}` : ''}`;
}

export function notFound(c: Context<AdminEnv>): Response | Promise<Response> {
  return c.html(
    page(
      { title: 'Not found', identity: c.get('identity') ?? null },
      html`<div class="card narrow">
        <h1>Not found</h1>
        <p>There is no such webhook or delivery (it may have been deleted).</p>
        <a class="button" href="/webhooks">Back to Webhooks</a>
      </div>`,
    ),
    404,
  );
}
