import { CronTime } from 'cron';

/** Cleanup schedules are evaluated in UTC, on every replica alike. */
export const CLEANUP_TIME_ZONE = 'UTC';

/** The first time strictly after `from` that `cron` fires (UTC). */
export function nextRunAt(cron: string, from: Date = new Date()): Date {
  return new CronTime(cron, CLEANUP_TIME_ZONE).getNextDateFrom(from).toJSDate();
}
