import { html } from 'hono/html';
import type { AdminIdentity } from '../admin-auth.ts';
import type { EndpointRecord } from '../../endpoints/endpoint-store.ts';
import type { EndpointHealth, LogEntry, LogFilter } from '../admin-queries.ts';
import { LOG_OUTCOMES } from '../admin-queries.ts';
import type { EventTypeInfo } from './endpoint-form.ts';
import { csrfInput, excerpt, formatTime, page, statusBadge, swapForm, timeCell, type Html } from './layout.ts';
import { enabledPill, liveRegion, tableHead } from './parts.ts';
import { routingDetails } from './endpoint-routing.ts';
import { enabledToggle, eventsLabel } from './webhooks-page.ts';

/** The result of "Send test event", shown on the page. */
export interface TestEventResult {
  eventType: string;
  webhookId: string;
  outcome: 'succeeded' | 'failed';
  statusCode: number | null;
  errorKind: string | null;
  error: string | null;
  durationMs: number;
  responseBody: string | null;
}

export interface EndpointPageData {
  identity: AdminIdentity;
  endpoint: EndpointRecord;
  health: EndpointHealth | undefined;
  eventTypes: readonly EventTypeInfo[];
  log: { entries: readonly LogEntry[]; next: string | null; filter: LogFilter; query: Record<string, string> };
  nowMs: number;
  flash?: { kind: 'ok' | 'error' | 'info'; text: string } | null;
  revealedSecret?: boolean;
  testResult?: TestEventResult | null;
}

export const OVERLAPS: ReadonlyArray<readonly [seconds: number, label: string]> = [
  [0, 'none: the old secret stops at once'],
  [3600, '1 hour'],
  [86_400, '24 hours'],
  [7 * 86_400, '7 days'],
];

export const RECOVER_WINDOWS: ReadonlyArray<readonly [key: string, label: string, ms: number | null]> = [
  ['1h', 'the last hour', 3_600_000],
  ['6h', 'the last 6 hours', 6 * 3_600_000],
  ['24h', 'the last 24 hours', 86_400_000],
  ['7d', 'the last 7 days', 7 * 86_400_000],
  ['all', 'ever', null],
];

export function maskSecret(secret: string): string {
  return `${secret.slice(0, secret.startsWith('whsec_') ? 10 : 4)}${'•'.repeat(12)}`;
}

function pct(value: string | null, attempts: number): string {
  if (value === null || attempts === 0) return '—';
  return `${Math.round(Number(value) * 1000) / 10}%`;
}

function healthCard(h: EndpointHealth | undefined, nowMs: number): Html {
  if (h === undefined) return html``;
  return html`<section class="card stats">
    <div>
      <div class="label">Success, 1 h</div>
      <div class="value">${pct(h.success_ratio_1h, h.attempts_1h)}</div>
      <div class="muted small">${h.attempts_1h} attempts</div>
    </div>
    <div>
      <div class="label">Success, 24 h</div>
      <div class="value">${pct(h.success_ratio_24h, h.attempts_24h)}</div>
      <div class="muted small">${h.attempts_24h} attempts</div>
    </div>
    <div>
      <div class="label">Last success</div>
      <div class="value small">${timeCell(h.last_success_at, nowMs)}</div>
    </div>
    <div>
      <div class="label">Last failure</div>
      <div class="value small">
        ${timeCell(h.last_failure_at, nowMs)} ${h.last_failure_at ? statusBadge(h.last_failure_status_code, null) : ''}
      </div>
      <div class="muted small">${excerpt(h.last_failure_error, 90)}</div>
    </div>
    ${
      h.failing_since === null
        ? ''
        : html`<div>
            <div class="label">Failing since</div>
            <div class="value small bad">${timeCell(h.failing_since, nowMs)}</div>
            <div class="muted small">every attempt failed: ${h.failing_attempts}</div>
          </div>`
    }
    <div>
      <div class="label">Retrying</div>
      <div class="value">${h.deliveries_retrying}</div>
    </div>
    <div>
      <div class="label">Dead</div>
      <div class="value ${h.deliveries_dead > 0 ? 'bad' : ''}">${h.deliveries_dead}</div>
    </div>
  </section>`;
}

function secretCard(d: EndpointPageData): Html {
  const e = d.endpoint;
  const overlap = e.previousSecret !== null && e.previousSecretExpiresAt !== null && e.previousSecretExpiresAt > d.nowMs;
  return html`<section class="card" id="secret">
    <h2>Signing secret</h2>
    <div class="secret-row">
      <code class="secret" id="secret-value">${d.revealedSecret ? e.secret : maskSecret(e.secret)}</code>
      ${
        d.revealedSecret
          ? html`<span class="muted small">Shown once; reload to hide. This reveal was logged.</span>`
          : swapForm(
              `/webhooks/${e.id}/reveal-secret`,
              'secret',
              'inline',
              html`${csrfInput(d.identity)}<button type="submit" class="button small">Reveal</button>`,
            )
      }
    </div>
    ${
      overlap
        ? html`<p class="muted small">
            The previous secret is also signed with until ${formatTime(new Date(e.previousSecretExpiresAt!))} (rotation overlap).
          </p>`
        : ''
    }
    <form method="post" action="/webhooks/${e.id}/rotate-secret" class="row">
      ${csrfInput(d.identity)}
      <label for="overlap">Keep the old secret valid for</label>
      <select id="overlap" name="overlap_seconds">
        ${OVERLAPS.map(([s, label]) => html`<option value="${s}" ${s === 86_400 ? 'selected' : ''}>${label}</option>`)}
      </select>
      <button type="submit" class="button">Rotate secret</button>
    </form>
  </section>`;
}

function testCard(d: EndpointPageData): Html {
  const e = d.endpoint;
  const r = d.testResult;
  const first = e.eventTypes.find((t) => t !== '*') ?? 'call.ended';
  return html`<section class="card" id="test-event">
    <h2>Send test event</h2>
    <p class="muted small">A signed sample event, sent now like a real delivery. Not recorded in the delivery log, never retried.</p>
    ${swapForm(
      `/webhooks/${e.id}/test`,
      'test-event',
      'row',
      html`${csrfInput(d.identity)}
        <label for="test-type">Event type</label>
        <select id="test-type" name="event_type">
          ${d.eventTypes.map((t) => html`<option value="${t.name}" ${(r?.eventType ?? first) === t.name ? 'selected' : ''}>${t.name}</option>`)}
        </select>
        <button type="submit" class="button">Send test event</button>`,
    )}
    ${
      r
        ? html`<div class="test-result ${r.outcome}" role="status" id="test-result">
            <div>
              ${statusBadge(r.statusCode, r.errorKind)} <strong>${r.outcome === 'succeeded' ? 'Delivered' : 'Failed'}</strong> in
              ${r.durationMs} ms · <code>${r.eventType}</code> · webhook-id <code id="test-webhook-id">${r.webhookId}</code>
            </div>
            ${r.error ? html`<div class="muted">${r.error}</div>` : ''}
            <div class="label">Response body</div>
            <pre class="body">${r.responseBody === null || r.responseBody === '' ? '(empty)' : r.responseBody}</pre>
          </div>`
        : ''
    }
  </section>`;
}

function recoverCard(d: EndpointPageData): Html {
  return html`<section class="card">
    <h2>Recover failed deliveries</h2>
    <p class="muted small">Sends again every dead or failing delivery of this webhook. You see how many before you confirm.</p>
    <form method="get" action="/webhooks/${d.endpoint.id}/recover" class="row">
      <label for="since">Recover failed since</label>
      <select id="since" name="since">
        ${RECOVER_WINDOWS.map(([key, label]) => html`<option value="${key}" ${key === '24h' ? 'selected' : ''}>${label}</option>`)}
      </select>
      <button type="submit" class="button">Recover failed since…</button>
    </form>
  </section>`;
}

function logFilters(d: EndpointPageData): Html {
  const q = d.log.query;
  return html`<form method="get" action="/webhooks/${d.endpoint.id}#delivery-log" class="filters row">
    <label
      >Status
      <select name="status">
        <option value="">any</option>
        ${LOG_OUTCOMES.map((o) => html`<option value="${o}" ${q.status === o ? 'selected' : ''}>${o}</option>`)}
      </select>
    </label>
    <label
      >Event type
      <select name="event">
        <option value="">any</option>
        ${d.eventTypes.map((t) => html`<option value="${t.name}" ${q.event === t.name ? 'selected' : ''}>${t.name}</option>`)}
      </select>
    </label>
    <label>From (UTC) <input type="datetime-local" name="since" value="${q.since ?? ''}" /></label>
    <label>To (UTC) <input type="datetime-local" name="until" value="${q.until ?? ''}" /></label>
    <button type="submit" class="button small">Filter</button>
    <a class="button small link" href="/webhooks/${d.endpoint.id}#delivery-log">Clear</a>
  </form>`;
}

function nextHref(d: EndpointPageData): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(d.log.query)) if (v !== '' && k !== 'after') params.set(k, v);
  params.set('after', d.log.next!);
  return `/webhooks/${d.endpoint.id}?${params.toString()}#delivery-log`;
}

function logTable(d: EndpointPageData): Html {
  const { entries } = d.log;
  return html`<section class="card" id="delivery-log">
    <div class="card-head">
      <h2>Delivery log</h2>
      <span class="muted small">Every attempt, newest first.</span>
    </div>
    ${logFilters(d)}
    ${
      entries.length === 0
        ? html`<div class="empty small">
            No attempts match. <a href="/troubleshooting#ep-${d.endpoint.id}">Why are there no deliveries?</a>
          </div>`
        : html`<table class="list log">
            ${tableHead(['Time', 'Event', ['Attempt', 'num'], 'HTTP status', 'Error', ['Duration', 'num'], 'Response'])}
            <tbody>
              ${entries.map(
                (a) =>
                  html`<tr class="attempt ${a.outcome}">
                    <td><a href="/deliveries/${a.delivery_id}" title="${formatTime(a.attempted_at)}">${formatTime(a.attempted_at)}</a></td>
                    <td><code>${a.event_type}</code></td>
                    <td class="num">${a.series > 1 ? `${a.attempt} (series ${a.series})` : a.attempt}</td>
                    <td>
                      ${a.outcome === 'cancelled' ? html`<span class="badge grey">cancelled</span>` : statusBadge(a.status_code, a.error_kind)}
                    </td>
                    <td class="muted">${excerpt(a.error, 60)}</td>
                    <td class="num">${a.duration_ms} ms</td>
                    <td><code class="excerpt">${excerpt(a.response_excerpt, 80)}</code></td>
                  </tr>`,
              )}
            </tbody>
          </table>`
    }
    ${d.log.next !== null ? html`<div class="pager"><a class="button small" href="${nextHref(d)}">Older attempts →</a></div>` : ''}
  </section>`;
}

export function endpointPage(d: EndpointPageData): Html {
  const e = d.endpoint;
  return page(
    { title: e.name, identity: d.identity, crumbs: [[e.name, null]], flash: d.flash ?? null },
    html`<section hx-ext="sse" sse-connect="/webhooks/live">
        ${liveRegion(
          { id: 'endpoint-head', url: `/webhooks/${e.id}`, className: 'page-head' },
          html`<div>
              <h1 id="endpoint-title">${e.name} ${enabledPill(e.enabled)}</h1>
              <p><code>${e.url}</code></p>
              <p class="events">${eventsLabel(e.eventTypes)}</p>
              ${e.ordering === 'per_key' ? html`<p class="muted" id="ordering">Delivered in order per key (same Kafka key, offset order)</p>` : ''}
              ${routingDetails(e)}
              ${!e.enabled && e.disabledReason ? html`<p class="flash info small">Disabled: ${e.disabledReason}</p>` : ''}
              ${e.description ? html`<p class="muted">${e.description}</p>` : ''}
            </div>
            <div class="head-actions">
              ${enabledToggle(d.identity, e, `/webhooks/${e.id}`)}
              <a class="button" href="/webhooks/${e.id}/edit">Edit</a>
              <a class="button danger" href="/webhooks/${e.id}/delete">Delete…</a>
            </div>`,
        )}
      </section>
      ${healthCard(d.health, d.nowMs)}
      <div class="grid3">${secretCard(d)} ${testCard(d)} ${recoverCard(d)}</div>
      ${logTable(d)}`,
  );
}
