/**
 * What the delay consumer costs for a burst of tasks due a few ms apart, as a hung endpoint's
 * retries are: N tasks of 1.2 KB on 3 partitions, due in order over 10 s starting 3 s after they
 * are produced, handed to a handler that only checks none is early. Prints the CPU of this process
 * (the consumer; the produce is before the measured interval) per task and how often a partition
 * was paused. Real broker (KAFKA_BROKERS).
 *
 *   node bench/delay-burst.ts [N]     (default 20,000)
 */
import pino from 'pino';
import { DelayConsumer } from '../src/retry/delay-consumer.ts';
import type { ConsumedMessage } from '../src/kafka/partition-consumer.ts';
import { openTestKafka, uniqueName } from '../test/support/kafka.ts';
import { noQuarantine } from '../test/support/no-quarantine.ts';

const n = Number(process.argv[2] ?? 20_000);
if (!Number.isInteger(n) || n < 1)
  throw new Error(`usage: node bench/delay-burst.ts [N]: N must be a positive integer, not ${process.argv[2]}`);
const SPAN_MS = 10_000;
const k = await openTestKafka('delay-burst');
const topic = uniqueName('delay-burst');
try {
  await k.createTopic(topic, 3);
  const body = 'x'.repeat(1200);
  const start = Date.now() + 3000;
  const tasks = Array.from({ length: n }, (_, i) => ({
    partition: i % 3,
    value: body,
    headers: { 'due-at': String(start + Math.floor((i * SPAN_MS) / n)) },
  }));
  for (let i = 0; i < tasks.length; i += 1000) await k.produce(topic, tasks.slice(i, i + 1000));
  let handled = 0;
  let early = 0;
  let lateMs = 0;
  let pauses = 0;
  const all = Promise.withResolvers<void>();
  const consumer = new DelayConsumer({
    kafka: k.kafka,
    groupId: uniqueName('delay-burst-group'),
    topics: [topic],
    concurrency: 256,
    ...noQuarantine,
    logger: pino({ level: 'silent' }),
    handle: async (m: ConsumedMessage) => {
      const late = Date.now() - Number(m.headers!['due-at']!.toString());
      if (late < 0) early++;
      lateMs += late;
      if (++handled === n) all.resolve();
    },
  });
  consumer.on('paused', () => pauses++);
  const cpu0 = process.cpuUsage();
  await consumer.start();
  await all.promise;
  const cpu = process.cpuUsage(cpu0);
  await consumer.stop();
  const cpuS = (cpu.user + cpu.system) / 1e6;
  console.log(
    JSON.stringify({
      tasks: n,
      early,
      meanLateMs: Math.round(lateMs / n),
      pauses,
      cpuS: Math.round(cpuS * 100) / 100,
      cpuUsPerTask: Math.round((cpuS * 1e6) / n),
    }),
  );
} finally {
  await k.close();
}
