import { ALL_QUEUES, defaultJobOptions, JobId, OWNER_QUEUES, QueueName, queuePrefix } from './queue-catalogue';
import type { AppConfig } from '../../config';

const config = { REDIS_PREFIX: 'zaphub', INSTANCE_ID: 'worker-1', QUEUE_MEDIA_DOWNLOAD_ATTEMPTS: 5, QUEUE_MEDIA_DOWNLOAD_CONCURRENCY: 4 } as AppConfig;

describe('queue catalogue', () => {
  it('gives owner queues (media-download) a copy per worker, and shared queues the deployment prefix', () => {
    expect(OWNER_QUEUES).toEqual([QueueName.MediaDownload]);
    expect(queuePrefix(config, QueueName.MediaDownload)).toBe('zaphub-owner-worker-1');
    expect(queuePrefix({ ...config, INSTANCE_ID: 'worker-2' }, QueueName.MediaDownload)).not.toBe(queuePrefix(config, QueueName.MediaDownload));
    for (const name of ALL_QUEUES.filter((q) => !OWNER_QUEUES.includes(q))) expect(queuePrefix(config, name)).toBe('zaphub');
  });

  it('retries a media download with backoff and keeps no finished job (the row is the truth, the id must be free again)', () => {
    expect(defaultJobOptions(config, QueueName.MediaDownload)).toMatchObject({
      attempts: 5,
      backoff: { type: 'exponential', delay: 2000 },
      removeOnComplete: true,
      removeOnFail: true,
    });
  });

  it('derives the media-download job id from the message id (no colon, not all digits)', () => {
    const id = JobId.mediaDownload('a1b2c3d4-0000-4000-8000-000000000001');
    expect(id).toBe('media-a1b2c3d4-0000-4000-8000-000000000001');
    expect(id).not.toMatch(/:|^\d+$/);
  });
});
