import type { AppConfig } from '../../config';

/**
 * The cleanup jobs, in the order GET /api/cleanup lists them.
 * - `processed`: done outbox rows (COMPLETED, and FAILED whose message FAILED) older than PROCESSED_RETENTION_MINUTES.
 * - `expire-pending`: messages still waiting PENDING_TTL_HOURS after acceptance become EXPIRED (message.expired).
 * - `history`: messages, events, webhook deliveries and idempotency keys older than HISTORY_RETENTION_DAYS.
 * - `jobs`: finished BullMQ jobs beyond their queue's retention, in every queue of the catalogue.
 * - `flows`: a report of this worker's in-flight flows (FlowTracker expires them itself after FLOW_TTL_MS).
 * - `summary`: a queue and memory summary of this worker.
 */
export const CLEANUP_JOBS = ['processed', 'expire-pending', 'history', 'jobs', 'flows', 'summary'] as const;
export type CleanupJob = (typeof CLEANUP_JOBS)[number];

export function isCleanupJob(value: string): value is CleanupJob {
  return (CLEANUP_JOBS as readonly string[]).includes(value);
}

/**
 * Jobs that report on the process they run in (its flows, its memory): every
 * worker runs its own, under a lock of its own. The others change shared rows
 * and run on one replica at a time, under a cluster-wide lock.
 */
export const LOCAL_JOBS: ReadonlySet<CleanupJob> = new Set<CleanupJob>(['flows', 'summary']);

/** The cron expression (5 or 6 fields, evaluated in UTC) of each job. */
export function cronOf(config: AppConfig, job: CleanupJob): string {
  switch (job) {
    case 'processed':
      return config.CLEANUP_PROCESSED_CRON;
    case 'expire-pending':
      return config.CLEANUP_EXPIRE_PENDING_CRON;
    case 'history':
      return config.CLEANUP_HISTORY_CRON;
    case 'jobs':
      return config.CLEANUP_JOBS_CRON;
    case 'flows':
      return config.CLEANUP_FLOWS_CRON;
    case 'summary':
      return config.CLEANUP_SUMMARY_CRON;
  }
}

/** The Redis lock a run of `job` holds: cluster-wide, or this instance's own for a local job. */
export function lockNameOf(job: CleanupJob, instanceId: string): string {
  return LOCAL_JOBS.has(job) ? `cleanup-${job}-${instanceId}` : `cleanup-${job}`;
}
