import { html } from 'hono/html';
import { maskedHeaders } from '../../endpoints/endpoint-headers.ts';
import type { EndpointRecord } from '../../endpoints/endpoint-store.ts';
import type { Html } from './layout.ts';

// The filter and the request headers of an endpoint: shown on its page, edited in its form.
// Header values are credentials: no page ever carries a stored one, not even in a hidden field;
// the form only lets an admin type a new value, remove a header, or add headers.

type Errors = Readonly<Record<string, { message: string; hint: string | null }>>;

/** What the form's filter and header fields hold (typed values are kept on an error). */
export interface RoutingFormValues {
  /** The filter as JSON text; empty for none. */
  filter: string;
  /** New headers, one `Name: value` a line. */
  newHeaders: string;
  /** Stored headers to remove, by name. */
  removeHeaders: readonly string[];
  /** The limits as typed; empty for none (the service default for in-flight). */
  maxPerSecond: string;
  maxInFlight: string;
}

export function routingValuesOf(e: EndpointRecord): RoutingFormValues {
  return {
    filter: e.filter === undefined || e.filter === null ? '' : JSON.stringify(e.filter, null, 2),
    newHeaders: '',
    removeHeaders: [],
    maxPerSecond: e.maxPerSecond === undefined || e.maxPerSecond === null ? '' : String(e.maxPerSecond),
    maxInFlight: e.maxInFlight === undefined || e.maxInFlight === null ? '' : String(e.maxInFlight),
  };
}

function limitsText(e: EndpointRecord): string | null {
  const parts: string[] = [];
  if (e.maxPerSecond !== undefined && e.maxPerSecond !== null) parts.push(`at most ${e.maxPerSecond} per second`);
  if (e.maxInFlight !== undefined && e.maxInFlight !== null) parts.push(`at most ${e.maxInFlight} at once`);
  return parts.length === 0 ? null : parts.join(', ');
}

/** The filter and header names (masked values) on the endpoint page; nothing when it has neither. */
export function routingDetails(e: EndpointRecord): Html {
  const headers = Object.entries(maskedHeaders(e.headers ?? {}));
  const hasFilter = e.filter !== undefined && e.filter !== null;
  const limits = limitsText(e);
  if (!hasFilter && headers.length === 0 && limits === null) return html``;
  return html`<dl class="details" id="routing">
    ${
      limits !== null
        ? html`<dt>Limits</dt>
            <dd id="endpoint-limits">${limits}</dd>`
        : ''
    }
    ${
      hasFilter
        ? html`<dt>Filter</dt>
            <dd><code id="endpoint-filter">${JSON.stringify(e.filter)}</code></dd>`
        : ''
    }
    ${
      headers.length > 0
        ? html`<dt>Headers</dt>
            <dd id="endpoint-headers">${headers.map(([name, value]) => html`<div><code>${name}: ${value}</code></div>`)}</dd>`
        : ''
    }
  </dl>`;
}

function fieldError(errors: Errors, field: string): Html {
  const e = errors[field];
  if (!e) return html``;
  return html`<div class="field-error" id="${field}-error" role="alert">
    ${e.message}${e.hint ? html`<div class="hint">${e.hint}</div>` : ''}
  </div>`;
}

/** The filter and headers fields of the endpoint form. */
export function routingFields(endpoint: EndpointRecord | null, v: RoutingFormValues, errors: Errors): Html {
  const stored = Object.entries(maskedHeaders(endpoint?.headers ?? {}));
  return html`<div class="field">
      <label for="filter">Filter <span class="muted">(optional, JSON)</span></label>
      <textarea
        id="filter"
        name="filter"
        rows="3"
        spellcheck="false"
        placeholder='{"data.campaign": {"$in": ["Q1-Sales"]}, "data.duration": {"$gte": 60}}'
      >
${v.filter}</textarea>
      <div class="help">
        Only events matching it are sent. Paths such as <code>data.campaign</code>; operators $eq $ne $in $nin $gt $gte $lt $lte $exists
        $and $or $not. Empty sends every subscribed event.
      </div>
      ${fieldError(errors, 'filter')}
    </div>
    <fieldset class="field headers">
      <legend>Request headers <span class="muted">(optional)</span></legend>
      <div class="help">
        Sent with every attempt, e.g. <code>Authorization</code>. Stored values are never shown: type a new value to replace one.
        Content-Type, Host, X-Webhook-* and webhook-* are the dispatcher's own.
      </div>
      ${stored.map(
        ([name, masked]) =>
          html`<div class="row header-row">
            <code>${name}: ${masked}</code>
            <label for="header-value-${name}" class="muted">new value</label>
            <input id="header-value-${name}" name="header_value:${name}" type="password" autocomplete="off" placeholder="keep" />
            <label class="check"
              ><input type="checkbox" name="remove_header" value="${name}" ${v.removeHeaders.includes(name) ? 'checked' : ''} />
              Remove</label
            >
          </div>`,
      )}
      <label for="new_headers"
        >${stored.length > 0 ? 'Headers to add' : 'Headers'}, one per line, e.g. <code>Authorization: Bearer …</code></label
      >
      <textarea id="new_headers" name="new_headers" rows="2" spellcheck="false" autocomplete="off" placeholder="Authorization: Bearer …">
${v.newHeaders}</textarea>
      ${fieldError(errors, 'headers')}
    </fieldset>
    <fieldset class="field limits">
      <legend>Limits <span class="muted">(optional)</span></legend>
      <div class="help">
        For a receiver that cannot take full speed. Work over the limit waits (or is queued on a retry topic) without holding other
        webhooks; a 429 with Retry-After slows it further.
      </div>
      <label for="max_per_second">Requests per second</label>
      <input id="max_per_second" name="max_per_second" inputmode="decimal" placeholder="no limit" value="${v.maxPerSecond}" />
      ${fieldError(errors, 'max_per_second')}
      <label for="max_in_flight">Requests at once</label>
      <input id="max_in_flight" name="max_in_flight" inputmode="numeric" placeholder="service default" value="${v.maxInFlight}" />
      ${fieldError(errors, 'max_in_flight')}
    </fieldset>`;
}
