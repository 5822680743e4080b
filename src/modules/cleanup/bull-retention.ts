import type { JobsOptions } from 'bullmq';

type RemoveOption = JobsOptions['removeOnComplete'];

/** What to remove from a queue's completed or failed set: jobs finished longer ago than this, and all but the newest N. */
export interface RetentionPlan {
  olderThanMs: number | null;
  keepNewest: number | null;
}

/**
 * The retention a queue's `removeOnComplete` / `removeOnFail` asks for, as a
 * plan the `jobs` cleanup applies itself: BullMQ only evaluates it when a
 * later job of the same kind finishes, so a quiet queue keeps its finished
 * jobs (and their payloads) in Redis forever. `true` keeps none, a number
 * keeps the newest N, `{age, count}` keeps those younger than `age` seconds
 * and at most `count`; `false` or nothing keeps everything (null: nothing to do).
 */
export function retentionPlan(option: RemoveOption): RetentionPlan | null {
  if (option === undefined || option === false) return null;
  if (option === true) return { olderThanMs: 0, keepNewest: null };
  if (typeof option === 'number') return { olderThanMs: null, keepNewest: Math.max(0, option) };
  const age = 'age' in option && typeof option.age === 'number' ? option.age * 1000 : null;
  const count = typeof option.count === 'number' ? Math.max(0, option.count) : null;
  return age === null && count === null ? null : { olderThanMs: age, keepNewest: count };
}
