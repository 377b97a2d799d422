import { html } from 'hono/html';
import type { AdminIdentity } from '../admin-auth.ts';
import type { EndpointRecord } from '../../endpoints/endpoint-store.ts';
import type { TroubleshootingFacts } from '../admin-queries.ts';
import { excerpt, page, type Html } from './layout.ts';
import { enabledPill, tableHead } from './parts.ts';

type Verdict = 'ok' | 'warn' | 'bad';

interface Check {
  issue: string;
  cause: string;
  solution: string;
  verdict: Verdict;
  finding: Html;
}

/** `1 attempt`, `3 attempts`. */
function count(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/**
 * A check that passes while `failures` is 0 (its finding then is `ok`); otherwise its verdict is
 * `severity` and its finding `problem()`.
 */
function failureCheck(
  row: Pick<Check, 'issue' | 'cause' | 'solution'>,
  [failures, severity]: readonly [failures: number, severity: Verdict],
  ok: Html,
  problem: () => Html,
): Check {
  return failures === 0 ? { ...row, verdict: 'ok', finding: ok } : { ...row, verdict: severity, finding: problem() };
}

const VERDICT_LABEL: Record<Verdict, string> = { ok: 'OK', warn: 'Check', bad: 'Problem' };

/** The spec's troubleshooting table, each row answered from this endpoint's last 24 hours. */
export function checksFor(e: EndpointRecord, f: TroubleshootingFacts): Check[] {
  const noDeliveries: Check = {
    issue: 'No deliveries appearing',
    cause: 'Webhook disabled or no matching events',
    solution: 'Verify the webhook is enabled and subscribed to the right events',
    verdict: !e.enabled ? 'bad' : f.deliveries_24h > 0 ? 'ok' : 'warn',
    finding: !e.enabled
      ? html`The webhook is <strong>disabled</strong>${e.disabledReason ? html` (${e.disabledReason})` : ''}. Enable it to receive events.`
      : f.deliveries_24h > 0
        ? html`Enabled; ${count(f.deliveries_24h, 'delivery', 'deliveries')} in the last 24 h.`
        : f.matching_events_24h > 0
          ? html`Enabled, but no deliveries in the last 24 h although ${f.matching_events_24h} events of its types were seen (they may have
            come before it was added or enabled).`
          : html`Enabled, and no events of its types (${e.eventTypes.join(', ')}) were seen in the last 24 h. Check the subscription.`,
  };
  const clientErrors = failureCheck(
    {
      issue: 'All deliveries failing (HTTP 4xx)',
      cause: 'Endpoint rejecting requests',
      solution: 'Check endpoint URL, authentication requirements, and firewall rules',
    },
    [f.attempts_4xx_24h, 'bad'],
    html`No 4xx answers in the last 24 h.`,
    () =>
      html`${count(f.attempts_4xx_24h, 'attempt')} answered 4xx; the latest ${f.last_4xx_status}
      ${f.last_4xx_excerpt ? html`: <code>${excerpt(f.last_4xx_excerpt, 120)}</code>` : ''}.`,
  );
  const serverErrors = failureCheck(
    {
      issue: 'Intermittent failures (HTTP 5xx)',
      cause: 'Destination server errors',
      solution: 'Review your endpoint’s error logs; the retry mechanism handles transient failures',
    },
    [f.attempts_5xx_24h + f.attempts_no_response_24h, 'warn'],
    html`No 5xx answers or timeouts in the last 24 h.`,
    () =>
      html`${count(f.attempts_5xx_24h, 'attempt')} answered 5xx${f.last_5xx_status ? ` (latest ${f.last_5xx_status})` : ''},
      ${f.attempts_no_response_24h} got no answer${f.last_network_error ? html` (latest: ${excerpt(f.last_network_error, 100)})` : ''}.`,
  );
  const signature = failureCheck(
    {
      issue: 'Signature mismatch',
      cause: 'Wrong secret or body modification',
      solution: 'Ensure you are verifying against the raw request body, not a parsed/re-serialized version',
    },
    [f.attempts_auth_rejected_24h, 'warn'],
    html`No 401 or 403 answers in the last 24 h.`,
    () =>
      html`${count(f.attempts_auth_rejected_24h, 'attempt')} answered 401 or 403: a receiver that rejects our signature often answers so.
      Compare the secret on the webhook's page with the receiver's, and verify the raw body.`,
  );
  return [noDeliveries, clientErrors, serverErrors, signature];
}

export function troubleshootingPage(
  identity: AdminIdentity,
  rows: ReadonlyArray<{ endpoint: EndpointRecord; facts: TroubleshootingFacts }>,
): Html {
  return page(
    { title: 'Troubleshooting', identity, crumbs: [['Troubleshooting', null]] },
    html`<div class="page-head">
        <div>
          <h1>Troubleshooting</h1>
          <p class="muted">The common delivery problems, answered from each webhook’s last 24 hours.</p>
        </div>
      </div>
      ${rows.length === 0 ? html`<div class="empty">No webhooks yet. <a href="/webhooks/new">Add Webhook</a></div>` : ''}
      ${rows.map(
        ({ endpoint, facts }) =>
          html`<section class="card" id="ep-${endpoint.id}">
            <div class="card-head">
              <h2><a href="/webhooks/${endpoint.id}">${endpoint.name}</a></h2>
              ${enabledPill(endpoint.enabled)}
            </div>
            <table class="list trouble">
              ${tableHead(['Issue', 'Cause', 'Solution', 'Now'])}
              <tbody>
                ${checksFor(endpoint, facts).map(
                  (c) =>
                    html`<tr class="${c.verdict}">
                      <td><strong>${c.issue}</strong></td>
                      <td>${c.cause}</td>
                      <td class="muted">${c.solution}</td>
                      <td><span class="verdict ${c.verdict}">${VERDICT_LABEL[c.verdict]}</span> ${c.finding}</td>
                    </tr>`,
                )}
              </tbody>
            </table>
          </section>`,
      )}`,
  );
}
