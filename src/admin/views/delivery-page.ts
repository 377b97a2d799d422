import { html } from 'hono/html';
import type { AdminIdentity } from '../admin-auth.ts';
import type { EndpointRecord } from '../../endpoints/endpoint-store.ts';
import type { AttemptLogRow, DeliveryDetail } from '../../log/delivery-queries.ts';
import { csrfInput, formatTime, page, statusBadge, type Html } from './layout.ts';
import { endpointActionPage } from './parts.ts';

const STATUS_CLASS: Record<string, string> = { succeeded: 'green', dead: 'red', retrying: 'orange', pending: 'blue', cancelled: 'grey' };

/** The stored body, pretty-printed when it is JSON (it always should be). */
function prettyPayload(payload: Buffer): string {
  const text = payload.toString('utf8');
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

export function deliveryPage(
  identity: AdminIdentity,
  d: DeliveryDetail,
  attempts: readonly AttemptLogRow[],
  flash: { kind: 'ok' | 'error' | 'info'; text: string; hint?: string | null } | null,
): Html {
  const endpointCrumb: readonly [string, string | null] =
    d.endpoint_name === null ? ['(deleted endpoint)', null] : [d.endpoint_name, `/webhooks/${d.endpoint_id}`];
  return page(
    { title: `Delivery ${d.id}`, identity, crumbs: [endpointCrumb, ['Delivery', null]] },
    html`${
        flash
          ? html`<div class="flash ${flash.kind}" role="status">
              ${flash.text}${flash.hint ? html`<div class="hint">${flash.hint}</div>` : ''}
            </div>`
          : ''
      }
      <div class="page-head">
        <div>
          <h1>
            <code>${d.event_type}</code> delivery
            <span class="pill ${STATUS_CLASS[d.status] ?? 'grey'}" id="delivery-status">${d.status}</span>
          </h1>
          <p class="muted">${d.status_reason ?? ''}</p>
        </div>
        <form method="post" action="/deliveries/${d.id}/redeliver" class="head-actions">
          ${csrfInput(identity)} ${d.status === 'succeeded' ? html`<input type="hidden" name="force" value="true" />` : ''}
          <button type="submit" class="button primary">Redeliver</button>
        </form>
      </div>
      <section class="card">
        <dl class="facts">
          <dt>Delivery id (webhook-id)</dt>
          <dd><code>${d.id}</code></dd>
          <dt>Event id</dt>
          <dd><code>${d.event_id}</code></dd>
          <dt>Event time</dt>
          <dd>${formatTime(d.event_timestamp)}</dd>
          <dt>Created</dt>
          <dd>${formatTime(d.created_at)}</dd>
          <dt>Attempts in this series</dt>
          <dd>${d.attempts} (series ${d.series})</dd>
          <dt>Next attempt</dt>
          <dd>${formatTime(d.next_attempt_at)}</dd>
        </dl>
      </section>
      <section class="card">
        <h2>Attempts</h2>
        ${
          attempts.length === 0
            ? html`<p class="muted">No attempt yet.</p>`
            : html`<ol class="timeline">
                ${attempts.map(
                  (a) =>
                    html`<li class="${a.outcome}">
                      <div class="when">${formatTime(a.attempted_at)}</div>
                      <div>
                        <strong>Attempt ${a.attempt}</strong>${a.series > 1 ? html` <span class="muted">(series ${a.series})</span>` : ''}
                        ${a.outcome === 'cancelled' ? html`<span class="badge grey">cancelled</span>` : statusBadge(a.status_code, a.error_kind)}
                        <span class="muted"
                          >${a.duration_ms} ms${a.delay_ms !== null ? ` · after a ${Math.round(a.delay_ms / 1000)} s delay` : ''}</span
                        >
                      </div>
                      ${a.error ? html`<div class="error-text">${a.error}</div>` : ''}
                      <div class="muted small"><code>${a.url}</code></div>
                      ${a.traceparent ? html`<div class="muted small">traceparent <code class="traceparent">${a.traceparent}</code></div>` : ''}
                      ${
                        a.response_body
                          ? html`<details open>
                              <summary>Response body</summary>
                              <pre class="body">${a.response_body}</pre>
                            </details>`
                          : ''
                      }
                    </li>`,
                )}
              </ol>`
        }
      </section>
      <section class="card">
        <h2>Payload</h2>
        ${
          d.payload === null
            ? html`<p class="muted">Not stored: the body is kept only for deliveries that failed at least once (to redeliver them).</p>`
            : html`<pre class="body">${prettyPayload(d.payload)}</pre>`
        }
      </section>`,
  );
}

export function recoverConfirmPage(
  identity: AdminIdentity,
  endpoint: EndpointRecord,
  window: { key: string; label: string; since: Date },
  recoverable: number,
): Html {
  return endpointActionPage(
    identity,
    endpoint,
    'Recover',
    html`<div class="card narrow">
      <h1>Recover failed deliveries of ${endpoint.name}</h1>
      ${
        recoverable === 0
          ? html`<p>No failed deliveries since ${formatTime(window.since)} (${window.label}) can be redelivered.</p>
              <a class="button" href="/webhooks/${endpoint.id}">Back</a>`
          : html`<p id="recover-count">
                This will redeliver <strong>${recoverable}</strong> ${recoverable === 1 ? 'delivery' : 'deliveries'} that failed since
                ${formatTime(window.since)} (${window.label}), each under its own delivery id, with fresh signatures.
              </p>
              ${!endpoint.enabled ? html`<p class="flash error">The webhook is disabled: enable it first, or the redeliveries are refused.</p>` : ''}
              <form method="post" action="/webhooks/${endpoint.id}/recover" class="actions">
                ${csrfInput(identity)}
                <input type="hidden" name="since" value="${window.key}" />
                <input type="hidden" name="since_at" value="${window.since.toISOString()}" />
                <button type="submit" class="button primary">Redeliver ${recoverable}</button>
                <a class="button" href="/webhooks/${endpoint.id}">Cancel</a>
              </form>`
      }
    </div>`,
  );
}
