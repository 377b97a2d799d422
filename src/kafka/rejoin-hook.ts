import { createRequire } from 'node:module';

/**
 * A hook that runs before a kafkajs consumer group member rejoins its group.
 *
 * kafkajs 2.2.4 has no "partitions revoked" callback: on a rebalance it stops its fetchers and
 * calls the group's `joinAndSync()` at once, while work started for the old assignment may still
 * be running (this service's handlers outlive `eachBatch`). A new owner of a partition can only
 * start once every member has rejoined, so a member that finishes (or aborts) its work before it
 * sends JoinGroup can never overlap with the next owner. `joinAndSync()` is the one place every
 * rejoin goes through (rebalance, unknown member, stale metadata, coordinator change), so the hook
 * wraps it. Offsets committed by the hook are accepted: the group is still PreparingRebalance
 * and this member's generation is current until it rejoins.
 *
 * Hooks are keyed by group id and member id (several members may share a process); the first
 * join of a member (no member id yet) has nothing to finish and runs no hook. A hook that throws
 * is ignored: the rejoin must happen regardless, or the member is dropped from the group.
 */
interface ConsumerGroupLike {
  groupId: string;
  memberId: string | null;
  joinAndSync(...args: unknown[]): Promise<unknown>;
}

const hooks = new Map<string, () => Promise<void>>();
let installed = false;

const keyOf = (groupId: string, memberId: string): string => `${groupId}\u0000${memberId}`;

function install(): void {
  if (installed) return;
  installed = true;
  // The same module instance kafkajs itself loads (one path, one CommonJS cache entry).
  const require = createRequire(import.meta.url);
  const ConsumerGroup = require('kafkajs/src/consumer/consumerGroup.js') as { prototype: ConsumerGroupLike };
  const original = ConsumerGroup.prototype.joinAndSync;
  ConsumerGroup.prototype.joinAndSync = async function (this: ConsumerGroupLike, ...args: unknown[]): Promise<unknown> {
    const hook = this.memberId ? hooks.get(keyOf(this.groupId, this.memberId)) : undefined;
    if (hook) await hook().catch(() => {});
    return original.apply(this, args);
  };
}

/** Runs `hook` before the member `memberId` of `groupId` rejoins; returns the unregister function. */
export function beforeRejoin(groupId: string, memberId: string, hook: () => Promise<void>): () => void {
  install();
  const k = keyOf(groupId, memberId);
  hooks.set(k, hook);
  return () => {
    if (hooks.get(k) === hook) hooks.delete(k);
  };
}
