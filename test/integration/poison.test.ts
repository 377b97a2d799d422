import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pino from 'pino';
import { TransientError } from '../../src/errors.ts';
import { PartitionConsumer, type ConsumedMessage } from '../../src/kafka/partition-consumer.ts';
import { errorKind } from '../../src/util/error-kind.ts';
import { openTestKafka, uniqueName, type TestKafka } from '../support/kafka.ts';
import { openDispatcherFixture } from '../support/service.ts';
import { waitFor } from '../support/wait-for.ts';

let k: TestKafka;
const logger = pino({ level: 'silent' });

before(async () => {
  k = await openTestKafka('poison');
});
after(async () => {
  await k.close();
});

test('an unclassified handler error is tried a bounded number of times, then quarantined, and the partition moves on; a transient one is retried until it passes', async () => {
  const topic = uniqueName('poison1');
  const groupId = uniqueName('g');
  await k.createTopic(topic, 1);
  const calls = new Map<string, number>();
  const quarantined: Array<{ value: string; error: unknown }> = [];
  const kinds: string[] = [];
  const handled: string[] = [];
  const consumer = new PartitionConsumer({
    kafka: k.kafka,
    groupId,
    topics: [topic],
    fromBeginning: true,
    concurrency: 10,
    classify: errorKind,
    maxUnclassifiedAttempts: 3,
    handlerBackoff: { initialMs: 10, maxMs: 50 },
    quarantine: async (m, error) => {
      quarantined.push({ value: m.value!.toString(), error });
    },
    logger,
    handle: async (m: ConsumedMessage) => {
      const v = m.value!.toString();
      const n = (calls.get(v) ?? 0) + 1;
      calls.set(v, n);
      if (v === 'poison') throw new RangeError('Maximum call stack size exceeded');
      if (v === 'flaky' && n <= 4) throw new TransientError('database is down');
      handled.push(v);
    },
  });
  consumer.on('handlerFailed', (e) => kinds.push(`${e.message.value!.toString()}:${e.kind}:${e.willRetry}`));
  await consumer.start();
  try {
    await k.produce(topic, [{ value: 'a' }, { value: 'poison' }, { value: 'flaky' }, { value: 'b' }]);
    await waitFor(async () => (await k.committedTotal(groupId, topic)) === 4, { what: 'the commit passes the poison', timeoutMs: 30_000 });
    assert.equal(calls.get('poison'), 3, 'the poison is tried maxUnclassifiedAttempts times');
    assert.deepEqual(
      quarantined.map((q) => [q.value, (q.error as Error).name]),
      [['poison', 'RangeError']],
      'only the poison is quarantined, with its error',
    );
    assert.equal(calls.get('flaky'), 5, 'a transient failure is retried past the bound for unknown errors');
    assert.deepEqual(handled.sort(), ['a', 'b', 'flaky']);
    assert.deepEqual(
      kinds.filter((x) => x.startsWith('poison')),
      ['poison:unknown:true', 'poison:unknown:true', 'poison:unknown:false'],
    );
    assert.ok(kinds.filter((x) => x.startsWith('flaky')).every((x) => x === 'flaky:transient:true'));
  } finally {
    await consumer.stop();
  }
});

test('the service quarantines a message its handler cannot settle to the invalid topic, with reason handler_failed and the error', async () => {
  const fixture = await openDispatcherFixture('poison', { secret: 's', endpoints: [] });
  try {
    const message: ConsumedMessage = {
      topic: fixture.input,
      partition: 0,
      offset: '7',
      key: null,
      value: Buffer.from('{"event":"call.ended"}'),
      headers: { 'event-id': 'e-1' },
      timestampMs: Date.now(),
    };
    await fixture.service.dispatcher.quarantine(message, new RangeError('Maximum call stack size exceeded'), new AbortController().signal);
    const invalid = await fixture.kafka.readAll(fixture.service.topics.invalid);
    assert.equal(invalid.length, 1);
    const h = (name: string): string | undefined => invalid[0]!.headers[name]?.toString();
    assert.equal(h('error-reason'), 'handler_failed');
    assert.equal(h('error-code'), 'WH_HANDLER_FAILED');
    assert.match(h('error-message') ?? '', /RangeError: Maximum call stack size exceeded/);
    assert.equal(h('source-offset'), '7');
    assert.equal(invalid[0]!.value!.toString(), '{"event":"call.ended"}');
  } finally {
    await fixture.close();
  }
});
