import { Injectable } from '@nestjs/common';
import { RedisService, withTimeout } from '../../infra/redis/redis.module';
import { CLEANUP_JOBS, type CleanupJob } from './cleanup-jobs';

/** A Redis read by a route or a scrape never waits longer than this. */
const READ_TIMEOUT_MS = 2000;
/** lastError is kept short: the full error is in the log. */
const MAX_ERROR_CHARS = 1000;

/** The outcome of a job's last finished run, as every replica reads it. */
export interface JobState {
  /** When the last finished run started. */
  lastRunAt: Date | null;
  /** When the last successful run finished. */
  lastSuccessAt: Date | null;
  /** Rows the last finished run changed (for a failed run: before it failed). */
  lastRows: number | null;
  /** Why the last finished run failed; null when it succeeded. */
  lastError: string | null;
  lastDurationMs: number | null;
  /** INSTANCE_ID of the replica that ran it. */
  lastRunBy: string | null;
}

export interface FinishedRun {
  startedAt: Date;
  finishedAt: Date;
  rows: number;
  /** null: the run succeeded. */
  error: string | null;
  by: string;
}

const EMPTY: JobState = { lastRunAt: null, lastSuccessAt: null, lastRows: null, lastError: null, lastDurationMs: null, lastRunBy: null };

/**
 * Each job's last run, in Redis (a hash per job, `<prefix>:cleanup:<job>`), not
 * in the process: GET /api/cleanup answers the same on every replica, whoever
 * ran the job.
 */
@Injectable()
export class CleanupState {
  constructor(private readonly redis: RedisService) {}

  key(job: CleanupJob): string {
    return this.redis.key('cleanup', job);
  }

  async readAll(): Promise<Record<CleanupJob, JobState>> {
    const pipeline = this.redis.client.pipeline();
    for (const job of CLEANUP_JOBS) pipeline.hgetall(this.key(job));
    const results = await withTimeout(pipeline.exec(), READ_TIMEOUT_MS, 'reading the cleanup state timed out');
    const states = {} as Record<CleanupJob, JobState>;
    CLEANUP_JOBS.forEach((job, i) => {
      const [error, hash] = results?.[i] ?? [new Error('no answer'), null];
      if (error) throw error;
      states[job] = parse(hash as Record<string, string>);
    });
    return states;
  }

  /** Records a finished run: one MULTI, so a reader never sees half of it. */
  async record(job: CleanupJob, run: FinishedRun): Promise<void> {
    const key = this.key(job);
    const fields: Record<string, string> = {
      lastRunAt: run.startedAt.toISOString(),
      lastRows: String(run.rows),
      lastDurationMs: String(run.finishedAt.getTime() - run.startedAt.getTime()),
      lastRunBy: run.by,
    };
    const multi = this.redis.client.multi();
    if (run.error === null) {
      fields.lastSuccessAt = run.finishedAt.toISOString();
      multi.hset(key, fields).hdel(key, 'lastError');
    } else {
      fields.lastError = run.error.slice(0, MAX_ERROR_CHARS);
      multi.hset(key, fields);
    }
    const results = await multi.exec();
    const failed = results?.find(([error]) => error);
    if (!results || failed) throw failed?.[0] ?? new Error('the cleanup state was not recorded');
  }
}

function parse(hash: Record<string, string> | null): JobState {
  if (!hash || !Object.keys(hash).length) return { ...EMPTY };
  const date = (v: string | undefined) => (v ? new Date(v) : null);
  const num = (v: string | undefined) => (v === undefined || v === '' ? null : Number(v));
  return {
    lastRunAt: date(hash.lastRunAt),
    lastSuccessAt: date(hash.lastSuccessAt),
    lastRows: num(hash.lastRows),
    lastError: hash.lastError ?? null,
    lastDurationMs: num(hash.lastDurationMs),
    lastRunBy: hash.lastRunBy ?? null,
  };
}
