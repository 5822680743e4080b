import { ConfigValidationError, parseConfig } from '../../config';
import { CLEANUP_JOBS, cronOf, isCleanupJob, lockNameOf } from './cleanup-jobs';
import { describe as describeError } from './cleanup-runner';

const REQUIRED = { DATABASE_URL: 'postgresql://x@h/db', REDIS_URL: 'redis://h', API_KEY: 'test-api-key-0123456789abcdef' };

describe('cleanup jobs', () => {
  it('have the default schedules: processed and expire-pending every 30 min, history daily, jobs hourly, flows 10 min, summary 15 min', () => {
    const config = parseConfig(REQUIRED);
    expect(Object.fromEntries(CLEANUP_JOBS.map((job) => [job, cronOf(config, job)]))).toEqual({
      processed: '*/30 * * * *',
      'expire-pending': '*/30 * * * *',
      history: '0 3 * * *',
      jobs: '0 * * * *',
      flows: '*/10 * * * *',
      summary: '*/15 * * * *',
    });
  });

  it('take their schedules from the environment, and refuse an invalid one with one line', () => {
    expect(cronOf(parseConfig({ ...REQUIRED, CLEANUP_HISTORY_CRON: '30 4 * * 0' }), 'history')).toBe('30 4 * * 0');
    const problems = (env: Record<string, string>) => {
      try {
        parseConfig({ ...REQUIRED, ...env });
        return [];
      } catch (error) {
        return (error as ConfigValidationError).problems;
      }
    };
    expect(problems({ CLEANUP_HISTORY_CRON: '99 * * * *' })).toEqual(['CLEANUP_HISTORY_CRON is not a valid cron expression (e.g. */30 * * * *)']);
    expect(problems({ CLEANUP_JOBS_CRON: 'hourly' })).toEqual(['CLEANUP_JOBS_CRON must be a cron expression with 5 or 6 fields']);
    expect(problems({ CLEANUP_BATCH_SIZE: '10' })).toEqual(['CLEANUP_BATCH_SIZE must be >= 100']);
  });

  it('know their names', () => {
    expect(isCleanupJob('expire-pending')).toBe(true);
    expect(isCleanupJob('stale-locks')).toBe(false);
  });

  it('lock cluster-wide, except the reports of one process, which lock per instance', () => {
    expect(lockNameOf('processed', 'w1')).toBe('cleanup-processed');
    expect(lockNameOf('history', 'w1')).toBe(lockNameOf('history', 'w2'));
    expect(lockNameOf('flows', 'w1')).toBe('cleanup-flows-w1');
    expect(lockNameOf('summary', 'w1')).not.toBe(lockNameOf('summary', 'w2'));
  });
});

describe('lastError of a failed run', () => {
  it('says "Database unavailable" for a connection failure, without address or stack', () => {
    const error = Object.assign(new Error("Raw query failed. Message: `Can't reach database server at 127.0.0.1:5432`"), {
      name: 'PrismaClientKnownRequestError',
      code: 'P2010',
      meta: { driverAdapterError: { cause: { kind: 'DatabaseNotReachable' } } },
    });
    expect(describeError(error)).toBe('Database unavailable, retry later');
  });

  it("drops Prisma's call-site preamble and keeps one line", () => {
    const error = new Error('\nInvalid `prisma.$executeRaw()` invocation:\n\n\nRaw query failed. Code: `23503`. Message: `violates foreign key`');
    expect(describeError(error)).toBe('Raw query failed. Code: `23503`. Message: `violates foreign key`');
  });

  it('bounds the length', () => {
    expect(describeError(new Error('x'.repeat(5000)))).toHaveLength(500);
  });
});
