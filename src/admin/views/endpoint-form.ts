import type { EndpointOrdering } from '../../db/database.ts';
import { html } from 'hono/html';
import type { AdminIdentity } from '../admin-auth.ts';
import type { EndpointRecord } from '../../endpoints/endpoint-store.ts';
import { csrfInput, formatTime, page, type Html } from './layout.ts';
import { routingFields, routingValuesOf, type RoutingFormValues } from './endpoint-routing.ts';
import { endpointActionPage } from './parts.ts';

/** An event type and the spec's "Triggered when" text (webhooks.event_types.description). */
export interface EventTypeInfo {
  name: string;
  description: string;
}

/** What the form shows: the values typed (kept on an error) and errors by field. */
export interface EndpointFormValues extends RoutingFormValues {
  name: string;
  url: string;
  allEvents: boolean;
  eventTypes: readonly string[];
  enabled: boolean;
  description: string;
  ordering: EndpointOrdering;
}

export interface EndpointFormData {
  identity: AdminIdentity;
  eventTypes: readonly EventTypeInfo[];
  requireHttps: boolean;
  /** Null for "Add Webhook". */
  endpoint: EndpointRecord | null;
  values: EndpointFormValues;
  /** Messages by field (`name`, `url`, `event_types`, `filter`, `headers`); `form` for those the database did not tie to a field. */
  errors: Readonly<Record<string, { message: string; hint: string | null }>>;
  /** Set when the row changed since the form was loaded: what it is now. */
  conflict?: EndpointRecord | null;
}

export function valuesOf(e: EndpointRecord): EndpointFormValues {
  const all = e.eventTypes.includes('*');
  return {
    name: e.name,
    url: e.url,
    allEvents: all,
    eventTypes: all ? [] : e.eventTypes,
    enabled: e.enabled,
    description: e.description ?? '',
    ordering: e.ordering ?? 'none',
    ...routingValuesOf(e),
  };
}

export const EMPTY_FORM: EndpointFormValues = {
  name: '',
  url: '',
  allEvents: false,
  eventTypes: [],
  enabled: true,
  description: '',
  ordering: 'none',
  filter: '',
  newHeaders: '',
  removeHeaders: [],
  maxPerSecond: '',
  maxInFlight: '',
};

function fieldError(errors: EndpointFormData['errors'], field: string): Html {
  const e = errors[field];
  if (!e) return html``;
  return html`<div class="field-error" id="${field}-error" role="alert">
    ${e.message}${e.hint ? html`<div class="hint">${e.hint}</div>` : ''}
  </div>`;
}

export function endpointFormPage(d: EndpointFormData): Html {
  const editing = d.endpoint !== null;
  const v = d.values;
  const action = editing ? `/webhooks/${d.endpoint!.id}` : '/webhooks';
  const title = editing ? `Edit ${d.endpoint!.name}` : 'Add Webhook';
  const crumbs: Array<readonly [string, string | null]> = editing
    ? [
        [d.endpoint!.name, `/webhooks/${d.endpoint!.id}`],
        ['Edit', null],
      ]
    : [['Add Webhook', null]];
  return page(
    { title, identity: d.identity, crumbs },
    html`<div class="page-head"><h1>${title}</h1></div>
      ${
        d.conflict
          ? html`<div class="flash error" role="alert" id="conflict">
              <strong>Someone else changed this webhook</strong> at ${formatTime(d.conflict.updatedAt)} (in SQL, the CLI or another browser)
              after you opened this form. Nothing was saved. It now reads: name <code>${d.conflict.name}</code>, URL
              <code>${d.conflict.url}</code>, events <code>${d.conflict.eventTypes.join(', ')}</code>,
              ${d.conflict.enabled ? 'enabled' : 'disabled'}. Your values are below: save again to overwrite, or
              <a href="/webhooks/${d.conflict.id}/edit">reload the current values</a>.
            </div>`
          : ''
      }
      ${d.errors.form ? html`<div class="flash error" role="alert">${d.errors.form.message}${d.errors.form.hint ? html`<div class="hint">${d.errors.form.hint}</div>` : ''}</div>` : ''}
      <form method="post" action="${action}" class="card form" novalidate>
        ${csrfInput(d.identity)}
        ${editing ? html`<input type="hidden" name="updated_at" value="${(d.conflict ?? d.endpoint!).updatedAt.toISOString()}" />` : ''}
        <div class="field">
          <label for="name">Name</label>
          <input id="name" name="name" type="text" value="${v.name}" required maxlength="200" placeholder="crm-sync" autocomplete="off" />
          <div class="help">A short name for this destination, unique among webhooks.</div>
          ${fieldError(d.errors, 'name')}
        </div>
        <div class="field">
          <label for="url">URL</label>
          <input
            id="url"
            name="url"
            type="url"
            value="${v.url}"
            required
            placeholder="https://crm.example.com/hooks/dialer"
            autocomplete="off"
          />
          <div class="help">
            The destination URL. Must be an HTTPS endpoint for production use${d.requireHttps ? ' (this installation requires https)' : ''}.
          </div>
          ${fieldError(d.errors, 'url')}
        </div>
        <fieldset class="field events">
          <legend>Events</legend>
          <div class="help">Subscribe to one, several or all events.</div>
          <label class="check all">
            <input type="checkbox" name="all_events" value="true" ${v.allEvents ? 'checked' : ''} />
            <span><strong>All events</strong><span class="muted"> (including event types added later)</span></span>
          </label>
          <div class="event-grid">
            ${d.eventTypes.map(
              (t) =>
                html`<label class="check">
                  <input type="checkbox" name="event_types" value="${t.name}" ${v.eventTypes.includes(t.name) ? 'checked' : ''} />
                  <span><code>${t.name}</code><span class="muted desc">${t.description}</span></span>
                </label>`,
            )}
          </div>
          ${fieldError(d.errors, 'event_types')}
        </fieldset>
        ${routingFields(d.endpoint, v, d.errors)}
        <div class="field">
          <label class="check toggle">
            <input type="checkbox" role="switch" name="enabled" value="true" ${v.enabled ? 'checked' : ''} />
            <span>Enabled</span>
          </label>
          <div class="help">A disabled webhook receives nothing; events are not queued for it.</div>
        </div>
        <div class="field">
          <label class="check toggle">
            <input type="checkbox" role="switch" name="ordering" value="per_key" ${v.ordering === 'per_key' ? 'checked' : ''} />
            <span>Deliver in order per key</span>
          </label>
          <div class="help">
            Events of one call or agent (same Kafka key) arrive in the order they happened: while one is retried, the later ones wait. Other
            calls are not held up.
          </div>
          ${fieldError(d.errors, 'ordering')}
        </div>
        <div class="field">
          <label for="description">Description <span class="muted">(optional)</span></label>
          <textarea id="description" name="description" rows="2" maxlength="1000">${v.description}</textarea>
        </div>
        <div class="actions">
          <button type="submit" class="button primary">Save</button>
          <a class="button" href="${editing ? `/webhooks/${d.endpoint!.id}` : '/webhooks'}">Cancel</a>
          ${editing ? html`<a class="button danger right" href="/webhooks/${d.endpoint!.id}/delete">Delete…</a>` : ''}
        </div>
      </form>`,
  );
}

export function deleteConfirmPage(identity: AdminIdentity, endpoint: EndpointRecord): Html {
  return endpointActionPage(
    identity,
    endpoint,
    'Delete',
    html`<div class="card narrow">
      <h1>Delete ${endpoint.name}?</h1>
      <p>
        <code>${endpoint.url}</code> will receive no more events. Its delivery log is kept, but its deliveries can no longer be redelivered.
        To stop deliveries for a while, disable it instead.
      </p>
      <form method="post" action="/webhooks/${endpoint.id}/delete" class="actions">
        ${csrfInput(identity)}
        <button type="submit" class="button danger">Delete webhook</button>
        <a class="button" href="/webhooks/${endpoint.id}">Cancel</a>
      </form>
    </div>`,
  );
}
