import type { Logger } from 'pino';
import type { PartitionConsumer } from '../kafka/partition-consumer.ts';
import type { ConsumerName } from './metric-labels.ts';
import type { Metrics } from './metrics.ts';

/** Feeds a consumer's lifecycle into the metrics and the log; `crash` hears that it stopped for good. */
export function watchConsumer(
  metrics: Metrics,
  logger: Logger,
  name: ConsumerName,
  consumer: PartitionConsumer,
  crash: (error: Error) => void,
): void {
  consumer.on('joined', (e) => {
    metrics.consumerUp.set({ consumer: name }, 1);
    logger.info({ consumer: name, partitions: e.partitions.length }, 'joined consumer group');
  });
  consumer.on('rebalancing', (e) => logger.info({ consumer: name, ...e }, 'rejoining consumer group'));
  consumer.on('crashed', ({ error }) => {
    metrics.consumerUp.set({ consumer: name }, 0);
    crash(error);
  });
  consumer.on('handlerFailed', (e) => metrics.handlerFailures.inc({ consumer: name, kind: e.kind }));
}
