import { html } from 'hono/html';
import type { AdminIdentity } from '../admin-auth.ts';
import type { EndpointRecord } from '../../endpoints/endpoint-store.ts';
import type { EndpointHealth } from '../admin-queries.ts';
import { csrfInput, excerpt, page, statusBadge, swapForm, timeCell, urlOrigin, type Html } from './layout.ts';
import { liveRegion, tableHead } from './parts.ts';

export interface WebhooksPageData {
  identity: AdminIdentity;
  endpoints: readonly EndpointRecord[];
  health: ReadonlyMap<string, EndpointHealth>;
  nowMs: number;
  flash?: { kind: 'ok' | 'error' | 'info'; text: string } | null;
}

function ratio(value: string | null, attempts: number): Html {
  if (value === null || attempts === 0) return html`<span class="muted">no attempts</span>`;
  const pct = Math.round(Number(value) * 1000) / 10;
  const cls = pct >= 99 ? 'good' : pct >= 90 ? 'warn' : 'bad';
  return html`<span class="ratio ${cls}">${pct}%</span> <span class="muted">of ${attempts}</span>`;
}

export function eventsLabel(eventTypes: readonly string[]): Html {
  if (eventTypes.includes('*')) return html`<span class="chip all">All events</span>`;
  return html`${eventTypes.map((t) => html`<span class="chip">${t}</span>`)}`;
}

/** The in-place "Enabled" switch: a one-button form, enhanced by htmx to replace only its row. */
export function enabledToggle(identity: AdminIdentity, endpoint: EndpointRecord, returnTo: string): Html {
  const id = `toggle-${endpoint.id}`;
  return swapForm(
    `/webhooks/${endpoint.id}/enabled`,
    id,
    'inline',
    html`${csrfInput(identity)}
      <input type="hidden" name="enabled" value="${endpoint.enabled ? 'false' : 'true'}" />
      <input type="hidden" name="return_to" value="${returnTo}" />
      <button
        type="submit"
        class="switch ${endpoint.enabled ? 'on' : 'off'}"
        role="switch"
        aria-checked="${endpoint.enabled ? 'true' : 'false'}"
        aria-label="Enabled: ${endpoint.name}"
        title="${endpoint.enabled ? 'Enabled: click to disable' : 'Disabled: click to enable'}"
      >
        <span class="knob"></span><span class="switch-text">${endpoint.enabled ? 'Enabled' : 'Disabled'}</span>
      </button>`,
    id,
  );
}

function healthCells(h: EndpointHealth | undefined, nowMs: number): Html {
  if (h === undefined)
    return html`<td></td>
      <td></td>
      <td></td>`;
  return html`<td class="num">${ratio(h.success_ratio_1h, h.attempts_1h)}</td>
    <td class="num">${ratio(h.success_ratio_24h, h.attempts_24h)}</td>
    <td class="health">
      <div>Last success ${timeCell(h.last_success_at, nowMs)}</div>
      ${h.failing_since === null ? '' : html`<div class="fail">Failing since ${timeCell(h.failing_since, nowMs)} (${h.failing_attempts} failed)</div>`}
      ${
        h.last_failure_at === null
          ? ''
          : html`<div class="fail">
              Last failure ${timeCell(h.last_failure_at, nowMs)} ${statusBadge(h.last_failure_status_code, null)}
              <span class="muted">${excerpt(h.last_failure_error, 80)}</span>
            </div>`
      }
      ${
        h.deliveries_retrying + h.deliveries_dead > 0
          ? html`<div>
              ${h.deliveries_retrying > 0 ? html`<span class="badge orange">${h.deliveries_retrying} retrying</span>` : ''}
              ${h.deliveries_dead > 0 ? html`<span class="badge red">${h.deliveries_dead} dead</span>` : ''}
            </div>`
          : ''
      }
    </td>`;
}

/** The table body alone: what the live update (an SSE `endpoints-changed`) re-fetches. */
export function webhooksTable(d: WebhooksPageData): Html {
  return liveRegion(
    { id: 'webhooks-table', url: '/webhooks' },
    html`${
      d.endpoints.length === 0
        ? html`<div class="empty">
            <h2>No webhooks yet</h2>
            <p>Add a webhook to send call, agent, lead, recording and alert events to your systems.</p>
            <a class="button primary" href="/webhooks/new">Add Webhook</a>
          </div>`
        : html`<table class="list">
            ${tableHead(['Name', 'Destination', 'Events', 'Enabled', ['Success 1 h', 'num'], ['Success 24 h', 'num'], 'Health'])}
            <tbody>
              ${d.endpoints.map(
                (e) =>
                  html`<tr id="row-${e.id}" class="${e.enabled ? '' : 'disabled'}">
                    <td>
                      <a class="name" href="/webhooks/${e.id}">${e.name}</a>
                      ${e.description ? html`<div class="muted small">${excerpt(e.description, 80)}</div>` : ''}
                    </td>
                    <td><code>${urlOrigin(e.url)}</code></td>
                    <td class="events">${eventsLabel(e.eventTypes)}</td>
                    <td>
                      ${enabledToggle(d.identity, e, '/webhooks')}
                      ${!e.enabled && e.disabledReason ? html`<div class="muted small reason">${e.disabledReason}</div>` : ''}
                    </td>
                    ${healthCells(d.health.get(e.id), d.nowMs)}
                  </tr>`,
              )}
            </tbody>
          </table>`
    }`,
  );
}

export function webhooksPage(d: WebhooksPageData): Html {
  return page(
    { title: 'Webhooks', identity: d.identity, flash: d.flash ?? null },
    html`<div class="page-head">
        <div>
          <h1>Webhooks</h1>
          <p class="muted">Endpoints that receive dialer events by HTTP POST, signed with their secret.</p>
        </div>
        <a class="button primary" href="/webhooks/new">Add Webhook</a>
      </div>
      <section hx-ext="sse" sse-connect="/webhooks/live" class="live">
        <p class="muted small live-note">Updates live when anyone changes endpoints, here, in the CLI or in SQL.</p>
        ${webhooksTable(d)}
      </section>`,
  );
}
