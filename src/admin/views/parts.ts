import { html } from 'hono/html';
import type { AdminIdentity } from '../admin-auth.ts';
import type { EndpointRecord } from '../../endpoints/endpoint-store.ts';
import { page, type Html } from './layout.ts';

/** The green "Enabled" or grey "Disabled" pill of an endpoint. */
export function enabledPill(enabled: boolean): Html {
  return enabled ? html`<span class="pill green">Enabled</span>` : html`<span class="pill grey">Disabled</span>`;
}

/** A table column: its heading, or its heading and the class of its cells (`num`: right-aligned). */
export type Column = string | readonly [heading: string, className: string];

/** The `<thead>` of a list table. */
export function tableHead(columns: readonly Column[]): Html {
  const cells = columns.map((c) => (typeof c === 'string' ? html`<th>${c}</th>` : html`<th class="${c[1]}">${c[0]}</th>`));
  return html`<thead>
    <tr>
      ${cells}
    </tr>
  </thead>`;
}

/**
 * A part of a page that re-reads itself when anyone changes endpoints (SQL, CLI, another
 * browser): on the SSE `endpoints-changed`, htmx fetches `url` and swaps in its element `id`.
 */
export function liveRegion(region: { id: string; url: string; className?: string }, body: Html): Html {
  return html`<div
    ${region.className === undefined ? '' : html`class="${region.className}"`}
    id="${region.id}"
    hx-get="${region.url}"
    hx-trigger="sse:endpoints-changed"
    hx-select="#${region.id}"
    hx-swap="outerHTML"
  >
    ${body}
  </div>`;
}

/** The page that confirms an action on one endpoint (Recover, Delete), under the endpoint's crumb. */
export function endpointActionPage(identity: AdminIdentity, endpoint: EndpointRecord, action: string, body: Html): Html {
  return page(
    {
      title: `${action} ${endpoint.name}`,
      identity,
      crumbs: [
        [endpoint.name, `/webhooks/${endpoint.id}`],
        [action, null],
      ],
    },
    body,
  );
}
