/**
 * Scenario 2, the raw limits on this machine, measured in the same run:
 * - a plain undici loop POSTing the same ~1 KiB bodies to the same receiver, with the same
 *   headers and both signatures computed per request (as the dispatcher does), at the dispatcher's
 *   per-endpoint concurrency (ENDPOINT_CONCURRENCY, one pool per origin);
 * - a plain kafkajs consumer reading a topic of the same events, doing nothing with them.
 */
import { randomUUID } from 'node:crypto';
import { Pool } from 'undici';
import type { EachBatchPayload } from 'kafkajs';
import { signatureHeader, standardSignatureHeader } from '../src/delivery/signing.ts';
import { uniqueName } from '../test/support/kafka.ts';
import { RAW_LOOP_PARTS, type BoxCpu } from './box-cpu.ts';
import { SECRET, watchDeliveries, type BenchContext } from './harness.ts';
import { benchBody, produceBurst } from './producer.ts';
import { round } from './stats.ts';

export interface RawUndiciResult {
  endpoints: number;
  concurrencyPerEndpoint: number;
  signing: true;
  requests: number;
  failed: number;
  seconds: number;
  requestsPerS: number;
  /** CPU of the bench driver (where the loop runs) over the loop, s. */
  cpuS: number;
  cpuUsPerRequest: number;
  receiverCpuS: number;
  /** CPU of every process on the box over the loop; `box` counts the driver (the loop) and the receiver. */
  box: BoxCpu;
}

export interface RawKafkaResult {
  messages: number;
  /** Group joined to last message received, s. */
  seconds: number;
  messagesPerS: number;
  /** Producing the topic (acks all, batches of 1,000), for reference. */
  produceMessagesPerS: number;
}

const BODY_RING = 1000;
const LOOP_LIMIT_MS = 600_000;

export async function runRawUndici(
  ctx: BenchContext,
  o: { label: string; endpoints: number; requestsPerEndpoint: number; concurrency: number },
): Promise<RawUndiciResult> {
  const paths = Array.from({ length: o.endpoints }, (_, i) => `/r${i}`);
  await ctx.receiver.routes(Object.fromEntries(paths.map((p) => [p, { kind: 'ok' as const }])));
  const bodies = Array.from({ length: BODY_RING }, (_, i) => benchBody(i));
  const pools = paths.map((_, i) => new Pool(new URL(ctx.receiver.url(i, '/')).origin, { connections: o.concurrency, pipelining: 1 }));
  const deadline = performance.now() + LOOP_LIMIT_MS;
  let failed = 0;
  let done = 0;
  const total = o.requestsPerEndpoint * o.endpoints;
  const worker = async (endpoint: number, counter: { next: number }): Promise<void> => {
    const pool = pools[endpoint]!;
    const urlPath = paths[endpoint]!;
    while (counter.next < o.requestsPerEndpoint && performance.now() < deadline) {
      const n = counter.next++;
      // A new view of the ring's bytes per request: signatureHeader remembers the signature of each
      // body object, so reusing the ring's objects would sign each body once per 1,000 requests,
      // where the dispatcher signs every event's body it builds.
      const body = bodies[n % BODY_RING]!.subarray(0);
      const id = randomUUID();
      const ts = Math.floor(Date.now() / 1000);
      const res = await pool.request({
        path: urlPath,
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'dialer-webhooks-bench',
          'x-webhook-signature': signatureHeader(body, SECRET),
          'x-webhook-event': 'call.ended',
          'x-webhook-attempt': '1',
          'webhook-id': id,
          'webhook-timestamp': String(ts),
          'webhook-signature': standardSignatureHeader(id, ts, body, [SECRET]),
        },
        body,
      });
      await res.body.dump();
      if (res.statusCode >= 300) failed++;
      done++;
    }
  };
  const box0 = ctx.box.mark();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const counters = paths.map(() => ({ next: 0 }));
  const loop = Promise.all(paths.flatMap((_, e) => Array.from({ length: o.concurrency }, () => worker(e, counters[e]!))));
  const progress = watchDeliveries(ctx, null, { label: o.label, paths, expected: total, stallMs: 30_000 }).catch(() => {});
  try {
    await loop;
  } finally {
    await Promise.all(pools.map((p) => p.close()));
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const box1 = ctx.box.mark();
  await progress;
  const { cpuS: receiverCpuS } = await ctx.receiver.counts();
  const cpuS = (cpu.user + cpu.system) / 1e6;
  return {
    endpoints: o.endpoints,
    concurrencyPerEndpoint: o.concurrency,
    signing: true,
    requests: done,
    failed,
    seconds: round(seconds, 3),
    requestsPerS: round(done / seconds, 0),
    cpuS: round(cpuS, 3),
    cpuUsPerRequest: round((cpuS * 1e6) / done, 0),
    receiverCpuS: round(receiverCpuS, 2),
    box: ctx.box.account(box0, box1, { deliveries: done, serviceCpuS: null, counted: RAW_LOOP_PARTS }),
  };
}

export async function runRawKafka(ctx: BenchContext, o: { label: string; events: number }): Promise<RawKafkaResult> {
  const topic = uniqueName('bench-raw') + '.events';
  await ctx.kafka.createTopic(topic, 3);
  try {
    let produced = 0;
    let lastPrint = 0;
    const p = await produceBurst(ctx.kafka.producer, topic, 'raw', o.events, (n) => {
      produced = n;
      if (performance.now() - lastPrint > 1000 || n === o.events) {
        lastPrint = performance.now();
        ctx.progress(`[${o.label}] produced ${produced.toLocaleString('en-US')}/${o.events.toLocaleString('en-US')}`);
      }
    });
    // The dispatcher's consumer settings, so the comparison is like for like.
    const consumer = ctx.kafka.kafka.consumer({
      groupId: uniqueName('bench-raw-group'),
      maxWaitTimeInMs: 100,
      maxBytesPerPartition: 1024 * 1024,
      sessionTimeout: 30_000,
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    let count = 0;
    // From the group join (the first fetch is counted) to the last message.
    let first = 0;
    let last = 0;
    consumer.on(consumer.events.GROUP_JOIN, () => (first = performance.now()));
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`raw kafkajs consumer: ${count} of ${o.events} messages in 300 s`)), 300_000);
        void consumer.run({
          autoCommit: false,
          partitionsConsumedConcurrently: 3,
          eachBatch: async ({ batch }: EachBatchPayload) => {
            count += batch.messages.length;
            last = performance.now();
            if (count >= o.events) {
              clearTimeout(timer);
              resolve();
            }
          },
        });
      });
    } finally {
      await consumer.disconnect();
    }
    const seconds = (last - first) / 1000;
    ctx.progress(`[${o.label}] consumed ${count.toLocaleString('en-US')} in ${seconds.toFixed(2)} s`);
    return {
      messages: count,
      seconds: round(seconds, 3),
      messagesPerS: round(count / seconds, 0),
      produceMessagesPerS: round(o.events / p.seconds, 0),
    };
  } finally {
    ctx.topicsToDelete.add(topic);
  }
}
