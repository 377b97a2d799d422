import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { REPLAY_DEFAULT_RATE, REPLAY_MAX_RATE } from '../config.ts';
import { createEventDecoder } from '../events/event-decoder.ts';
import { EventCatalog } from '../events/catalog.ts';
import { findEventTypes } from '../events/catalog-reads.ts';
import { createRegistryDecoder } from '../events/registry-decoder.ts';
import { createKafka } from '../kafka/kafka-client.ts';
import { TopicProducer } from '../kafka/topic-producer.ts';
import { replay, type ReplayProgress, type ReplaySummary } from '../replay/replay.ts';
import { topicNames } from '../topics/service-topics.ts';
import { parseIntegerOption, parseList, parseSince, PROGRAM, stringValue } from './args.ts';
import type { CliContext, Command } from './cli-context.ts';
import { CommandFailedError, EXIT, UsageError } from './cli-errors.ts';
import { endpointSinceOptions, findEndpointOrFail } from './endpoint-lookup.ts';
import { formatMs, formatTime, type Output } from './output.ts';

export const replayCommand: Command = {
  spec: {
    name: 'replay',
    summary: 'Deliver to one endpoint every matching event still in Kafka since a time.',
    options: {
      ...endpointSinceOptions('events'),
      until: { type: 'string', value: 'TIME', description: 'events before (default: everything there when the replay starts)' },
      types: { type: 'string', value: 'A,B', description: 'only these event types (within the subscription)' },
      rate: { type: 'string', value: 'N', description: `most deliveries queued per second (default REPLAY_RATE, ${REPLAY_DEFAULT_RATE})` },
      'dry-run': { type: 'boolean', description: 'only count: read and match, queue nothing' },
    },
    description:
      "Reads the input topics from the offsets of TIME (the brokers' time index) with a consumer group of its\nown, never the service's, up to --until or to the end as it was at the start. Each event the endpoint's\ncurrent subscription takes (and --types) is delivered unless its delivery already succeeded: the\ndelivery id is the live path's (from the event id and the endpoint id), so a second replay sends\nnothing. Deliveries are queued on the first retry topic, as redeliver does, and a running dispatcher\nsends them with fresh signatures; a dead or cancelled one gets a new attempt series. The endpoint\nmust be enabled. Progress (events scanned, deliveries, rate, ETA) goes to stderr, then a summary.\nWhen TIME is older than the topics' retention, says so and names the earliest time still kept.\nJSON: the summary.",
    examples: [
      'dialer-webhooks replay --endpoint crm-sync --since 2026-03-07T15:00Z',
      'dialer-webhooks replay --endpoint crm-sync --since 7d --types call.ended --dry-run',
    ],
  },
  async run(ctx, { values }) {
    const nowMs = ctx.now();
    const since = parseSince('since', stringValue(values, 'since')!, nowMs);
    const untilText = stringValue(values, 'until');
    const until = untilText === undefined ? null : parseSince('until', untilText, nowMs);
    if (until !== null && until.getTime() <= since.getTime()) throw new UsageError('--until must be later than --since');
    const config = ctx.config();
    const rateText = stringValue(values, 'rate');
    const rate = rateText === undefined ? config.replay.ratePerSecond : parseIntegerOption('rate', rateText, 1, REPLAY_MAX_RATE);
    const dryRun = values['dry-run'] === true;

    const { db, pool } = await ctx.database();
    // The catalog as it is now: replayed events are checked as the dispatcher checks them.
    const catalog = EventCatalog.from(await findEventTypes(db));
    const types = typesOption(stringValue(values, 'types'), catalog.names());
    const endpoint = await findEndpointOrFail(db, stringValue(values, 'endpoint')!);
    if (!endpoint.enabled && !dryRun) {
      throw new CommandFailedError(`endpoint ${endpoint.name} is disabled: its deliveries would be cancelled`, {
        hint: `Enable it first: ${PROGRAM} endpoints enable ${endpoint.name}`,
      });
    }
    if (types) {
      const outside = types.filter((t) => !endpoint.eventTypes.includes('*') && !endpoint.eventTypes.includes(t));
      if (outside.length > 0) ctx.out.error(`warning: ${endpoint.name} is not subscribed to ${outside.join(', ')}; those are skipped`);
    }

    // kafkajs's warnings (a broker reconnecting, a rebalance) go to stderr with the progress.
    const logger = pino({ level: 'warn' }, { write: (line: string) => ctx.out.error(line.trimEnd()) });
    const kafka = createKafka(config.kafka, logger);
    const producer = new TopicProducer(kafka);
    if (!dryRun) await producer.connect();
    const { url, username, password, timeoutMs } = config.schemaRegistry;
    const registry = url
      ? createRegistryDecoder({ url, ...(username ? { username } : {}), ...(password ? { password } : {}), timeoutMs })
      : null;
    const mode = dryRun ? 'Dry run: counting' : 'Replaying';
    ctx.out.error(
      `${mode} events since ${formatTime(since)}${until ? ` until ${formatTime(until)}` : ''} for ${endpoint.name} (at most ${rate}/s).`,
    );
    let summary: ReplaySummary;
    try {
      summary = await replay({
        kafka,
        pool,
        producer,
        decodeEvent: createEventDecoder({ maxEventBytes: config.delivery.maxEventBytes, registry, catalog: () => catalog }),
        inputTopics: config.kafka.inputTopics,
        firstRetryTopic: topicNames(config).retry[0]!,
        endpoint,
        since,
        until,
        types,
        dryRun,
        ratePerSecond: rate,
        groupId: `${config.kafka.groupId}.replay.${randomUUID()}`,
        logger,
        onProgress: (p) => ctx.out.error(progressLine(p, dryRun)),
        onRetentionGap: (g) =>
          ctx.out.error(
            `warning: --since ${formatTime(since)} is older than the retention of ${g.topic} partition ${g.partition}: the earliest event still there is from ${formatTime(g.earliestAvailable)}; older ones are gone.`,
          ),
      });
    } finally {
      if (!dryRun) await producer.disconnect().catch(() => {});
    }
    printSummary(ctx, summary, endpoint.name, since);
    return EXIT.ok;
  },
};

function typesOption(text: string | undefined, catalog: readonly string[]): string[] | null {
  if (text === undefined) return null;
  const types = parseList(text);
  const unknown = types.filter((t) => !catalog.includes(t));
  if (types.length === 0 || unknown.length > 0) {
    throw new UsageError(
      `--types: unknown event type ${JSON.stringify(unknown[0] ?? text)}; valid types: ${catalog.join(', ')}`,
      null,
      `${PROGRAM} replay --help`,
    );
  }
  return types;
}

/** One progress line: `scanned 1200 · deliveries 40 · 600 events/s · 45% · ETA 3 s`. */
export function progressLine(p: ReplayProgress, dryRun: boolean): string {
  const percent = p.totalOffsets === 0 ? 100 : Math.floor((p.offsetsDone / p.totalOffsets) * 100);
  const eta = p.etaMs === null ? 'ETA -' : `ETA ${formatMs(p.etaMs)}`;
  return `scanned ${p.scanned} · ${dryRun ? 'would deliver' : 'deliveries'} ${p.delivered} · ${Math.round(p.offsetsPerSecond)} events/s · ${percent}% · ${eta}`;
}

function printSummary(ctx: CliContext, s: ReplaySummary, name: string, since: Date): void {
  const out: Output = ctx.out;
  if (out.json) {
    out.printJson({
      endpoint: name,
      since: since.toISOString(),
      dry_run: s.dryRun,
      scanned: s.scanned,
      matched: s.matched,
      filtered: s.filtered,
      delivered: s.delivered,
      resent: s.resent,
      already_succeeded: s.alreadySucceeded,
      in_flight: s.inFlight,
      invalid: s.invalid,
      duration_ms: s.elapsedMs,
      retention_gaps: s.retentionGaps.map((g) => ({
        topic: g.topic,
        partition: g.partition,
        earliest_available: g.earliestAvailable.toISOString(),
      })),
    });
    return;
  }
  out.line(`${s.dryRun ? 'Dry run of a replay' : 'Replay'} to ${name} since ${formatTime(since)}:`);
  out.fields(
    [
      ['scanned', String(s.scanned)],
      ['matched', String(s.matched)],
      ['filtered out', String(s.filtered)],
      [s.dryRun ? 'would deliver' : 'delivered', `${s.delivered}${s.resent > 0 ? ` (${s.resent} dead or cancelled, sent again)` : ''}`],
      ['already succeeded', String(s.alreadySucceeded)],
      ['in flight', String(s.inFlight)],
      ['invalid', String(s.invalid)],
      ['took', formatMs(s.elapsedMs)],
    ],
    '  ',
  );
  if (s.retentionGaps.length > 0) {
    const latest = new Date(Math.max(...s.retentionGaps.map((g) => g.earliestAvailable.getTime())));
    out.line(`Events before ${formatTime(latest)} are partly gone (topic retention); the replay is complete from then on.`);
  }
  if (!s.dryRun && s.delivered > 0) out.line(`Follow them with: ${PROGRAM} deliveries list --endpoint ${name}`);
}
