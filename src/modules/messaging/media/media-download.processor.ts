import { Processor } from '@nestjs/bullmq';
import type { Job } from 'bullmq';
import { BaseProcessor } from '../../../infra/queues/base.processor';
import { QueueName, type JobPayloads } from '../../../infra/queues/queue-catalogue';
import { MediaDownloadService } from './media-download.service';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * media-download (an owner queue: this worker's own copy): downloads the file
 * of one received message. Failures propagate so BullMQ retries them with
 * backoff; the service marks the media FAILED on the last attempt.
 */
@Processor(QueueName.MediaDownload)
export class MediaDownloadProcessor extends BaseProcessor<typeof QueueName.MediaDownload> {
  protected readonly queue = QueueName.MediaDownload;

  constructor(private readonly downloads: MediaDownloadService) {
    super();
  }

  async process(job: Job<JobPayloads[typeof QueueName.MediaDownload]>): Promise<void> {
    const { sessionId, messageId } = job.data ?? {};
    if (typeof sessionId !== 'string' || !UUID.test(sessionId) || typeof messageId !== 'string' || !UUID.test(messageId)) {
      throw new Error('invalid media-download payload');
    }
    await this.downloads.download({ sessionId, messageId });
  }
}
