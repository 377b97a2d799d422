import { retryTiers } from './retry-schedule.ts';

const DAY = 86_400_000;

/** The delay topics of a retry schedule and the dead-letter topic, named from the topic prefix. */
export interface RetryTopicNames {
  /** One per retry tier, in schedule order; tiers with the same delay share a topic. */
  retry: readonly string[];
  /** The distinct delay topics. */
  retryDistinct: readonly string[];
  deadLetter: string;
}

export function retryTopicNames(prefix: string, delaysMs: readonly number[]): RetryTopicNames {
  const retry = retryTiers(delaysMs).map((t) => `${prefix}.retry.${t.label}`);
  return { retry, retryDistinct: [...new Set(retry)], deadLetter: `${prefix}.dead-letter` };
}

/**
 * How long each topic of `names` keeps its messages, ms: a delay topic far beyond its delay (a
 * stopped dispatcher loses no retry), the dead-letter topic 30 days.
 */
export function retryTopicRetention(names: RetryTopicNames, delaysMs: readonly number[]): Map<string, number> {
  const tiers = retryTiers(delaysMs);
  const out = new Map<string, number>();
  for (const topic of names.retryDistinct) out.set(topic, Math.max(7 * DAY, 100 * tiers[names.retry.indexOf(topic)]!.delayMs));
  out.set(names.deadLetter, 30 * DAY);
  return out;
}
