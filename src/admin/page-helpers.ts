import type { Context } from 'hono';
import { html } from 'hono/html';
import { EVENT_TYPES } from '../events/catalog.ts';
import type { AdminEnv, AdminIdentity } from './admin-auth.ts';
import type { AdminDeps } from './admin-deps.ts';
import type { EndpointRecord } from '../endpoints/endpoint-store.ts';
import { endpointHealth, isLogCursor, listLogEntries, LOG_OUTCOMES, type LogFilter } from './admin-queries.ts';
import type { EventTypeInfo } from './views/endpoint-form.ts';
import { endpointPage, type TestEventResult } from './views/endpoint-page.ts';
import { page, type Html } from './views/layout.ts';

/** The catalog's types in the spec's order, with their "Triggered when" text from the database. */
export async function loadEventTypes(deps: AdminDeps): Promise<EventTypeInfo[]> {
  const rows = await deps.db.selectFrom('webhooks.event_types').select(['name', 'description']).execute();
  const order = (name: string): number => {
    const i = (EVENT_TYPES as readonly string[]).indexOf(name);
    return i === -1 ? EVENT_TYPES.length : i;
  };
  return rows.sort((a, b) => order(a.name) - order(b.name) || a.name.localeCompare(b.name));
}

/** The log filter from a page's query string; bad values are dropped rather than refused. */
export function logFilterFrom(endpointId: string, q: Record<string, string>): LogFilter {
  const time = (s: string | undefined): Date | undefined => {
    if (s === undefined || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(s)) return undefined;
    const d = new Date(`${s}Z`);
    return Number.isNaN(d.getTime()) ? undefined : d;
  };
  const outcome = LOG_OUTCOMES.find((o) => o === q.status);
  const eventType = (EVENT_TYPES as readonly string[]).includes(q.event ?? '') ? q.event : undefined;
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
