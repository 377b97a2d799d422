import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { Partitioners, type PartitionerArgs } from 'kafkajs';
import { keyPartitioner, murmur2 } from '../../src/kafka/key-partitioner.ts';

const metadata = (n: number, leaderless: number[] = []): PartitionerArgs['partitionMetadata'] =>
  Array.from({ length: n }, (_, i) => ({
    partitionId: i,
    leader: leaderless.includes(i) ? -1 : 1,
    replicas: [1],
    isr: [1],
    partitionErrorCode: 0,
  }));
const args = (key: string | Buffer | null, n: number, partition?: number): PartitionerArgs => ({
  topic: 't',
  partitionMetadata: metadata(n),
  message: { key, value: null, ...(partition === undefined ? {} : { partition }) },
});

test("murmur2 matches Kafka's: the Java client's published values", () => {
  // From the Java client's UtilsTest.testMurmur2 (org.apache.kafka.common.utils).
  const cases: Array<[string, number]> = [
    ['21', -973932308],
    ['foobar', -790332482],
    ['a-little-bit-long-string', -985981536],
    ['a-little-bit-longer-string', -1486304829],
    ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
    ['abc', 479470107],
  ];
  for (const [text, hash] of cases) assert.equal(murmur2(Buffer.from(text)), hash, text);
});

test("the key partitioner picks the partition kafkajs's DefaultPartitioner picks, for every kind of key", () => {
  const ours = keyPartitioner();
  const theirs = Partitioners.DefaultPartitioner();
  const keys: Array<string | Buffer> = [
    '',
    'é',
    'ключ-🔑',
    ...Array.from({ length: 500 }, () => randomUUID()),
    ...Array.from({ length: 300 }, (_, i) => randomBytes(i % 70)),
    ...Array.from({ length: 200 }, (_, i) => randomBytes(i % 40).toString('base64')),
  ];
  for (const n of [1, 2, 3, 6, 7, 12, 13]) {
    for (const key of keys) assert.equal(ours(args(key, n)), theirs(args(key, n)), `${n} partitions, key ${String(key)}`);
  }
});

test('a message that names its partition goes there; one without a key goes to a partition with a leader', () => {
  const ours = keyPartitioner();
  assert.equal(ours(args(randomUUID(), 6, 4)), 4);
  assert.equal(ours(args(null, 6, 0)), 0);
  const seen = new Set<number>();
  for (let i = 0; i < 60; i++) {
    const p = ours({ topic: 'u', partitionMetadata: metadata(6, [1, 3]), message: { key: null, value: null } });
    assert.ok([0, 2, 4, 5].includes(p), `partition ${p} has a leader`);
    seen.add(p);
  }
  assert.equal(seen.size, 4, 'round robin over the partitions with a leader');
});
