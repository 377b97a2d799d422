import { signingSecrets, type EndpointRecord } from '../endpoints/endpoint-store.ts';
import type { CliContext } from './cli-context.ts';
import { maskedHeaderList } from './header-options.ts';
import { limitsText } from './limit-options.ts';
import { excerpt, formatTime, isoTime, maskSecret } from './output.ts';
import { maskedHeaders } from '../endpoints/endpoint-headers.ts';

// How the endpoint commands print an endpoint: JSON for scripts, aligned fields for people.
// Secrets are masked unless asked for; header values are always masked (write-only).

export const SHOW_SECRETS = { type: 'boolean', description: 'print secrets in full instead of masked (whsec_abcd…)' } as const;

/**
 * An endpoint as `--json` prints it: the columns of webhooks.endpoints, snake_case, times in ISO
 * 8601. Secrets are masked unless `reveal` (asked for, or shown once on creation and rotation);
 * header values always are.
 */
export function endpointJson(e: EndpointRecord, reveal: boolean): Record<string, unknown> {
  return {
    id: e.id,
    name: e.name,
    url: e.url,
    event_types: e.eventTypes,
    filter: e.filter ?? null,
    headers: maskedHeaders(e.headers ?? {}),
    max_per_second: e.maxPerSecond ?? null,
    max_in_flight: e.maxInFlight ?? null,
    ordering: e.ordering ?? 'none',
    enabled: e.enabled,
    disabled_reason: e.disabledReason,
    description: e.description,
    secret: reveal ? e.secret : maskSecret(e.secret),
    previous_secret: reveal ? e.previousSecret : maskSecret(e.previousSecret),
    previous_secret_expires_at: isoTime(e.previousSecretExpiresAt),
    created_at: isoTime(e.createdAt),
    updated_at: isoTime(e.updatedAt),
  };
}

export function printEndpoint(ctx: CliContext, e: EndpointRecord, secret: string): void {
  const pairs: Array<readonly [string, string]> = [
    ['id', e.id],
    ['name', e.name],
    ['url', e.url],
    ['events', e.eventTypes.join(', ')],
    ...(e.filter === undefined || e.filter === null ? [] : [['filter', JSON.stringify(e.filter)] as const]),
    ...(limitsText(e) === '' ? [] : [['limits', limitsText(e)] as const]),
    ...(e.ordering === 'per_key' ? [['ordering', 'per_key (same Kafka key, offset order)'] as const] : []),
    ['enabled', e.enabled ? 'yes' : `no${e.disabledReason ? ` (${e.disabledReason})` : ''}`],
  ];
  const headers = maskedHeaderList(e.headers);
  if (headers !== '') pairs.push(['headers', headers]);
  if (e.description) pairs.push(['description', e.description]);
  pairs.push(['secret', secret]);
  if (oldSecretValid(e)) {
    pairs.push(['previous secret', `valid until ${formatTime(e.previousSecretExpiresAt)}`]);
  }
  pairs.push(['updated', formatTime(e.updatedAt)]);
  ctx.out.fields(pairs, '  ');
}

/** True while the previous secret is still signed with: the dispatcher's own rule. */
export function oldSecretValid(e: EndpointRecord): boolean {
  return signingSecrets(e, Date.now()).length > 1;
}

export function note(e: EndpointRecord): string {
  if (!e.enabled && e.disabledReason) return excerpt(e.disabledReason, 60);
  if (oldSecretValid(e)) return `rotating: old secret valid until ${formatTime(e.previousSecretExpiresAt)}`;
  return e.ordering === 'per_key' ? 'ordered per key' : '';
}
