import { isUuid } from '../util/uuid.ts';
import { cancelReplayRequest, findReplayRequest, listReplayRequests, type ReplayRequestRow } from '../replay/replay-request-reads.ts';
import { limitOption, PROGRAM, stringValue } from './args.ts';
import type { CliContext, Command } from './cli-context.ts';
import { CommandFailedError, EXIT, UsageError } from './cli-errors.ts';
import { endpointFilterOption, findEndpointOrFail } from './endpoint-lookup.ts';
import { formatTime } from './output.ts';

const EXAMPLE_ID = '1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed';
const REPLAYS_LIMIT = limitOption('replays', 20, 1000);

/** A `replays <name> ID` command: the spec around one replay id, checked before `run` gets it. */
function replayIdCommand(name: string, summary: string, description: string, run: (ctx: CliContext, id: string) => Promise<void>): Command {
  const command = `replays ${name}`;
  return {
    spec: { name: command, summary, positionals: ['ID'], options: {}, description, examples: [`${PROGRAM} ${command} ${EXAMPLE_ID}`] },
    async run(ctx, { positionals }) {
      const text = positionals[0]!;
      if (!isUuid(text)) throw new UsageError(`${JSON.stringify(text)} is not a replay id (a UUID)`, null, `${PROGRAM} ${command} --help`);
      await run(ctx, text.toLowerCase());
      return EXIT.ok;
    },
  };
}

async function requireReplay(ctx: CliContext, id: string): Promise<ReplayRequestRow> {
  const { pool } = await ctx.database();
  const row = await findReplayRequest(pool, id);
  if (!row) throw new CommandFailedError(`no replay with id ${id}`, { hint: `Find ids with: ${PROGRAM} replays list` });
  return row;
}

/** `offsets_done` of `offsets_total` as a share, `-` before the replay has planned its ranges. */
function percent(r: ReplayRequestRow): string {
  if (r.offsets_total === null) return '-';
  return r.offsets_total === 0 ? '100%' : `${Math.floor((r.offsets_done / r.offsets_total) * 100)}%`;
}

function replayJson(r: ReplayRequestRow): Record<string, unknown> {
  const time = (d: Date | null): string | null => (d === null ? null : d.toISOString());
  return {
    ...r,
    since: time(r.since),
    until: time(r.until),
    requested_at: time(r.requested_at),
    earliest_available: time(r.earliest_available),
    started_at: time(r.started_at),
    finished_at: time(r.finished_at),
    updated_at: time(r.updated_at),
  };
}

const listCommand: Command = {
  spec: {
    name: 'replays list',
    summary: 'List replays requested with webhooks.replay(), newest first, with their progress.',
    options: {
      limit: REPLAYS_LIMIT.spec,
      endpoint: endpointFilterOption('the replays'),
    },
    description:
      'Reads webhooks.replay_requests: status (queued, running, done, failed, cancelled), since, deliveries\nqueued, events skipped as already delivered, events scanned and the share of offsets read.\nJSON: [{… every column of webhooks.replay_requests, endpoint_name}].',
    examples: ['dialer-webhooks replays list --endpoint crm-sync'],
  },
  async run(ctx, { values }) {
    const limit = REPLAYS_LIMIT.value(values);
    const { db, pool } = await ctx.database();
    const ref = stringValue(values, 'endpoint');
    const endpointId = ref === undefined ? null : (await findEndpointOrFail(db, ref)).id;
    const rows = await listReplayRequests(pool, { endpointId, limit });
    if (ctx.out.json) {
      ctx.out.printJson(rows.map(replayJson));
      return EXIT.ok;
    }
    ctx.out.table(
      ['ID', 'ENDPOINT', 'STATUS', 'SINCE', 'QUEUED', 'SKIPPED', 'SCANNED', 'DONE', 'REQUESTED'],
      rows.map((r) => [
        r.id,
        r.endpoint_name,
        r.status,
        formatTime(r.since),
        String(r.queued),
        String(r.skipped_succeeded),
        String(r.scanned),
        percent(r),
        formatTime(r.requested_at),
      ]),
      `No replays. Request one in SQL: select webhooks.replay(endpoint_id, since);`,
    );
    return EXIT.ok;
  },
};

const showCommand = replayIdCommand(
  'show',
  'Show one replay: its request, progress and summary.',
  'Every counter of the replay (scanned, matched, queued, skipped as succeeded, filtered out by the\npayload filter, in flight, invalid), the share of offsets read, the earliest event still in Kafka\nwhen since is older than the retention, who runs it and the error of a failed one.\nJSON: every column of webhooks.replay_requests, endpoint_name.',
  async (ctx, id) => {
    const r = await requireReplay(ctx, id);
    if (ctx.out.json) return ctx.out.printJson(replayJson(r));
    ctx.out.line(`Replay ${r.id} to ${r.endpoint_name}: ${r.status}`);
    ctx.out.fields(showFields(r), '  ');
  },
);

const cancelCommand = replayIdCommand(
  'cancel',
  'Cancel a queued or running replay.',
  'Calls webhooks.cancel_replay: a queued replay never starts, a running one stops within seconds; the\ndeliveries it queued before are still sent. A replay that had already ended keeps its status.\nJSON: {id, status}.',
  async (ctx, id) => {
    const { pool } = await ctx.database();
    const status = await cancelReplayRequest(pool, id);
    if (ctx.out.json) ctx.out.printJson({ id, status });
    else ctx.out.line(status === 'cancelled' ? `Replay ${id} cancelled.` : `Replay ${id} had already ended: ${status}.`);
  },
);

function showFields(r: ReplayRequestRow): ReadonlyArray<readonly [string, string]> {
  return [
    ['since', formatTime(r.since)],
    ['until', r.until === null ? '(the end of the topics at the start)' : formatTime(r.until)],
    ['types', r.types === null ? '(every subscribed type)' : r.types.join(', ')],
    ['requested', `${formatTime(r.requested_at)} by ${r.requested_by}`],
    ['started', formatTime(r.started_at)],
    ['finished', formatTime(r.finished_at)],
    ['run by', `${r.claimed_by ?? '-'} (claim ${r.claims})`],
    ['progress', `${percent(r)} of the offsets (${r.offsets_done} of ${r.offsets_total ?? '-'})`],
    ['scanned', String(r.scanned)],
    ['matched', String(r.matched)],
    ['filtered out', String(r.filtered)],
    ['queued', String(r.queued)],
    ['already succeeded', String(r.skipped_succeeded)],
    ['in flight', String(r.in_flight)],
    ['invalid', String(r.invalid)],
    ...(r.earliest_available === null
      ? []
      : [['earliest available', `${formatTime(r.earliest_available)} (older events are gone: topic retention)`] as const]),
    ...(r.error === null ? [] : [['error', r.error] as const]),
  ];
}

export const REPLAY_COMMANDS: readonly Command[] = [listCommand, showCommand, cancelCommand];
