import type { PartitionState } from './offset-committer.ts';

/**
 * Waits until a message of the partition settles (it wakes one waiter: see PartitionConsumer),
 * the partition is given up (stop, rejoin: all are woken), or `ms` pass. A waiter that timed out
 * leaves the list, so the next settled message wakes a waiter still waiting, not a stale one.
 */
export function waitOnPartition(state: PartitionState, ms: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const wake = (): void => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      const i = state.slotWaiters.indexOf(wake);
      if (i >= 0) state.slotWaiters.splice(i, 1);
      resolve();
    }, ms);
    state.slotWaiters.push(wake);
  });
}
