import type { DeliveryStatus } from '../db/database.ts';
import { findEventTypes } from '../events/catalog-reads.ts';
import { eventTypeValue, limitOption, parseSince, stringValue } from './args.ts';
import type { CliContext, Command } from './cli-context.ts';
import { CommandFailedError, EXIT, UsageError } from './cli-errors.ts';
import {
  DELIVERY_STATUSES,
  findDelivery,
  listAttempts,
  listDeliveries,
  type AttemptLogRow,
  type DeliverySummary,
} from '../log/delivery-queries.ts';
import { isUuid } from '../util/uuid.ts';
import { endpointFilterOption, findEndpointOrFail } from './endpoint-lookup.ts';
import { excerpt, formatMs, formatTime, isoTime } from './output.ts';

/** A delivery as `--json` prints it: the columns of webhooks.deliveries plus the endpoint's name. */
export function deliveryJson(d: DeliverySummary): Record<string, unknown> {
  return {
    id: d.id,
    endpoint_id: d.endpoint_id,
    endpoint_name: d.endpoint_name,
    event_id: d.event_id,
    event_type: d.event_type,
    event_timestamp: isoTime(d.event_timestamp),
    status: d.status,
    status_reason: d.status_reason,
    series: d.series,
    attempts: d.attempts,
    last_status_code: d.last_status_code,
    last_error: d.last_error,
    first_attempt_at: isoTime(d.first_attempt_at),
    last_attempt_at: isoTime(d.last_attempt_at),
    next_attempt_at: isoTime(d.next_attempt_at),
    created_at: isoTime(d.created_at),
    updated_at: isoTime(d.updated_at),
  };
}

function attemptJson(a: AttemptLogRow): Record<string, unknown> {
  return {
    series: a.series,
    attempt: a.attempt,
    attempted_at: isoTime(a.attempted_at),
    outcome: a.outcome,
    status_code: a.status_code,
    error_kind: a.error_kind,
    error: a.error,
    duration_ms: a.duration_ms,
    delay_ms: a.delay_ms,
    due_at: isoTime(a.due_at),
    url: a.url,
    response_excerpt: a.response_excerpt,
    traceparent: a.traceparent,
  };
}

/** `200`, `HTTP 500`, `timeout: timed out after 10000 ms` … */
function attemptResult(a: Pick<AttemptLogRow, 'outcome' | 'status_code' | 'error_kind' | 'error'>): string {
  if (a.outcome === 'succeeded') return String(a.status_code ?? 'ok');
  if (a.outcome === 'cancelled') return `cancelled: ${a.error ?? ''}`.trim();
  if (a.error_kind === 'http_status' && a.status_code !== null) return `HTTP ${a.status_code}`;
  return `${a.error_kind ?? 'failed'}: ${a.error ?? ''}`.trim();
}

function lastResult(d: DeliverySummary): string {
  if (d.last_status_code !== null && d.last_error === null) return String(d.last_status_code);
  return d.last_error ?? d.status_reason ?? '';
}

/** A delivery id argument: a UUID, else a usage error. */
export function deliveryIdArgument(text: string, command: string): string {
  if (!isUuid(text))
    throw new UsageError(`${JSON.stringify(text)} is not a delivery id (a UUID)`, null, `dialer-webhooks ${command} --help`);
  return text.toLowerCase();
}

export async function requireDelivery(ctx: CliContext, id: string): Promise<DeliverySummary> {
  const { db } = await ctx.database();
  const delivery = await findDelivery(db, id);
  if (!delivery) throw new CommandFailedError(`no delivery with id ${id}`, { hint: 'Find ids with: dialer-webhooks deliveries list' });
  return delivery;
}

const DELIVERIES_LIMIT = limitOption('deliveries', 50, 10_000);

const listCommand: Command = {
  spec: {
    name: 'deliveries list',
    summary: 'List deliveries, newest first.',
    options: {
      endpoint: endpointFilterOption('deliveries'),
      'event-type': { type: 'string', value: 'TYPE', description: 'only events of this type' },
      status: { type: 'string', value: 'STATUS', description: `only deliveries in this status: ${DELIVERY_STATUSES.join(', ')}` },
      since: {
        type: 'string',
        value: 'TIME',
        description: 'only deliveries created since: relative (30m, 1h, 2d) or ISO 8601 (2026-03-07T15:00Z)',
      },
      limit: DELIVERIES_LIMIT.spec,
    },
    description:
      'One row per (event, endpoint). JSON: an array of {id, endpoint_id, endpoint_name, event_id, event_type,\nevent_timestamp, status, status_reason, series, attempts, last_status_code, last_error,\nfirst_attempt_at, last_attempt_at, next_attempt_at, created_at, updated_at}.',
    examples: ['dialer-webhooks deliveries list --endpoint crm-sync --status dead --since 1d'],
  },
  async run(ctx, { values }) {
    const eventTypeText = stringValue(values, 'event-type');
    const status = stringValue(values, 'status');
    if (status !== undefined && !(DELIVERY_STATUSES as readonly string[]).includes(status)) {
      throw new UsageError(
        `unknown status ${JSON.stringify(status)}; valid statuses: ${DELIVERY_STATUSES.join(', ')}`,
        null,
        'dialer-webhooks deliveries list --help',
      );
    }
    const sinceText = stringValue(values, 'since');
    const since = sinceText === undefined ? undefined : parseSince('since', sinceText, ctx.now());
    const limit = DELIVERIES_LIMIT.value(values);
    const { db } = await ctx.database();
    const catalog = eventTypeText === undefined ? [] : (await findEventTypes(db)).map((t) => t.name);
    const eventType = eventTypeValue(values, 'event-type', 'deliveries list', catalog);
    const endpointRef = stringValue(values, 'endpoint');
    const endpoint = endpointRef === undefined ? undefined : await findEndpointOrFail(db, endpointRef);
    const rows = await listDeliveries(db, {
      limit,
      ...(endpoint === undefined ? {} : { endpointId: endpoint.id }),
      ...(eventType === undefined ? {} : { eventType }),
      ...(status === undefined ? {} : { status: status as DeliveryStatus }),
      ...(since === undefined ? {} : { since }),
    });
    if (ctx.out.json) {
      ctx.out.printJson(rows.map(deliveryJson));
      return EXIT.ok;
    }
    ctx.out.table(
      ['CREATED', 'ID', 'ENDPOINT', 'EVENT', 'STATUS', 'ATTEMPTS', 'LAST RESULT'],
      rows.map((d) => [
        formatTime(d.created_at),
        d.id,
        d.endpoint_name ?? `(deleted ${d.endpoint_id})`,
        d.event_type,
        d.status,
        String(d.attempts),
        excerpt(lastResult(d), 60),
      ]),
      'No deliveries match.',
    );
    return EXIT.ok;
  },
};

const showCommand: Command = {
  spec: {
    name: 'deliveries show',
    summary: 'Show one delivery and every attempt made for it.',
    positionals: ['ID'],
    options: {},
    description:
      'Each attempt: series (a redelivery starts a new one), number, time, the delay the retry schedule\nput before it, duration, result (HTTP status or error) and the start of the response body.\nJSON: {delivery: {… as deliveries list}, attempts: [{series, attempt, attempted_at, outcome,\nstatus_code, error_kind, error, duration_ms, delay_ms, due_at, url, response_excerpt,\ntraceparent}]}. TRACEPARENT: the W3C traceparent the attempt was sent with (docs/receiving.md).',
    examples: ['dialer-webhooks deliveries show 6f1c1f3e-8d4b-5b7a-9a3e-2f55c0d7b1a4'],
  },
  async run(ctx, { positionals }) {
    const id = deliveryIdArgument(positionals[0]!, 'deliveries show');
    const delivery = await requireDelivery(ctx, id);
    const { db } = await ctx.database();
    const attempts = await listAttempts(db, id);
    if (ctx.out.json) {
      ctx.out.printJson({ delivery: deliveryJson(delivery), attempts: attempts.map(attemptJson) });
      return EXIT.ok;
    }
    const d = delivery;
    ctx.out.line(`Delivery ${d.id}`);
    ctx.out.fields(
      [
        ['endpoint', d.endpoint_name === null ? `(deleted) ${d.endpoint_id}` : `${d.endpoint_name} (${d.endpoint_id})`],
        ['event', `${d.event_type}, id ${d.event_id}, at ${formatTime(d.event_timestamp)}`],
        ['status', `${d.status}${d.status_reason ? ` (${d.status_reason})` : ''}`],
        ['series', `${d.series}, ${d.attempts} attempt${d.attempts === 1 ? '' : 's'} in it`],
        ['created', formatTime(d.created_at)],
        ['first attempt', formatTime(d.first_attempt_at)],
        ['last attempt', formatTime(d.last_attempt_at)],
        ...(d.next_attempt_at === null ? [] : [['next attempt', formatTime(d.next_attempt_at)] as const]),
      ],
      '  ',
    );
    ctx.out.line('');
    ctx.out.table(
      ['SERIES', 'ATTEMPT', 'TIME', 'DELAY', 'DURATION', 'RESULT', 'RESPONSE', 'TRACEPARENT'],
      attempts.map((a) => [
        String(a.series),
        String(a.attempt),
        formatTime(a.attempted_at),
        formatMs(a.delay_ms),
        formatMs(a.duration_ms),
        excerpt(attemptResult(a), 60),
        excerpt(a.response_excerpt, 60),
        a.traceparent ?? '',
      ]),
      'No attempts recorded yet.',
    );
    return EXIT.ok;
  },
};

export const DELIVERY_COMMANDS: readonly Command[] = [listCommand, showCommand];
