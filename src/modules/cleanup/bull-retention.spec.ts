import { ALL_QUEUES, defaultJobOptions, QueueName } from '../../infra/queues/queue-catalogue';
import { parseConfig } from '../../config';
import { retentionPlan } from './bull-retention';

describe('retentionPlan', () => {
  it('keeps everything when no removal is configured', () => {
    expect(retentionPlan(undefined)).toBeNull();
    expect(retentionPlan(false)).toBeNull();
  });

  it('removes every finished job for `true`', () => {
    expect(retentionPlan(true)).toEqual({ olderThanMs: 0, keepNewest: null });
  });

  it('keeps the newest N for a number', () => {
    expect(retentionPlan(100)).toEqual({ olderThanMs: null, keepNewest: 100 });
    expect(retentionPlan(0)).toEqual({ olderThanMs: null, keepNewest: 0 });
  });

  it('turns {age (s), count} into milliseconds and a count', () => {
    expect(retentionPlan({ age: 3600, count: 1000 })).toEqual({ olderThanMs: 3_600_000, keepNewest: 1000 });
    expect(retentionPlan({ age: 60 })).toEqual({ olderThanMs: 60_000, keepNewest: null });
    expect(retentionPlan({ count: 5 })).toEqual({ olderThanMs: null, keepNewest: 5 });
  });

  it('has a plan for the finished jobs of every queue of the catalogue', () => {
    const config = parseConfig({ DATABASE_URL: 'postgresql://x@h/db', REDIS_URL: 'redis://h', API_KEY: 'test-api-key-0123456789abcdef' });
    for (const queue of ALL_QUEUES) {
      const options = defaultJobOptions(config, queue);
      expect({ queue, completed: retentionPlan(options.removeOnComplete), failed: retentionPlan(options.removeOnFail) }).toEqual({
        queue,
        completed: expect.anything(),
        failed: expect.anything(),
      });
    }
    expect(retentionPlan(defaultJobOptions(config, QueueName.WebhookDelivery).removeOnComplete)).toEqual({ olderThanMs: 0, keepNewest: null });
  });
});
