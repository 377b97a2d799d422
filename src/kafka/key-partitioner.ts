import { Partitioners, type ICustomPartitioner } from 'kafkajs';

const M = 0x5bd1e995;

/**
 * Kafka's murmur2 (the Java client's `Utils.murmur2`) in 32-bit integer arithmetic. kafkajs's own
 * emulates it with 64-bit Long objects, about fifty per 36-byte key (a delivery id): on the retry
 * path, where every message is keyed, that was a tenth of the producer's allocations.
 */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = 0x9747b28c ^ length;
  const length4 = length >>> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k = data[i4]! | (data[i4 + 1]! << 8) | (data[i4 + 2]! << 16) | (data[i4 + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  const tail = length & ~3;
  const rest = length & 3;
  if (rest > 0) {
    if (rest === 3) h ^= data[tail + 2]! << 16;
    if (rest >= 2) h ^= data[tail + 1]! << 8;
    h ^= data[tail]!;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/**
 * The partitioner of kafkajs's DefaultPartitioner (the Java client's): a message's own partition
 * if it names one, else murmur2 of its key (as UTF-8) over all the topic's partitions, else
 * kafkajs's round robin. The same partition as before for every key, computed without Long
 * objects and without kafkajs's list of available partitions per message.
 */
export const keyPartitioner: ICustomPartitioner = () => {
  const unkeyed = Partitioners.DefaultPartitioner();
  return (args) => {
    const { message, partitionMetadata } = args;
    if (message.partition !== null && message.partition !== undefined) return message.partition;
    const key = message.key;
    if (key === null || key === undefined) return unkeyed(args);
    const bytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
    return (murmur2(bytes) & 0x7fffffff) % partitionMetadata.length;
  };
};
