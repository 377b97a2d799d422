import type { BackoffObserver } from '../delivery/with-backoff.ts';
import type { Metrics } from './metrics.ts';

/** Counts the operations waiting for a dependency, for the metrics and for `/readyz`. */
export function dependencyWaits(metrics: Metrics): { observer: BackoffObserver; count(): number } {
  let count = 0;
  return {
    observer: {
      retried: (operation) => metrics.dependencyRetries.inc({ operation }),
      waiting: (delta) => {
        count += delta;
        metrics.dependencyWaits.set(count);
      },
    },
    count: () => count,
  };
}
