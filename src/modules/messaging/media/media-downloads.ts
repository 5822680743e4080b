import { Injectable } from '@nestjs/common';
import { BackgroundFailures } from '../../../infra/metrics/background-failures';
import { JobId, QueueName } from '../../../infra/queues/queue-catalogue';
import { QueuesService } from '../../../infra/queues/queues.service';

export interface PendingDownload {
  sessionId: string;
  messageId: string;
}

/**
 * Enqueues media-download jobs in this worker's own copy of the queue (an
 * owner queue: the recorder and the reconciler run on the session's owner).
 * The job id is the message's, so enqueueing twice adds one job while it
 * exists. A job is only a trigger: the Media row (DOWNLOADING) is the truth.
 */
@Injectable()
export class MediaDownloads {
  constructor(
    private readonly queues: QueuesService,
    private readonly background: BackgroundFailures,
  ) {}

  /**
   * Never throws (after a commit nothing can be undone): a download that
   * could not be enqueued (Redis down) is found by the reconciler.
   */
  async enqueue(downloads: PendingDownload[]): Promise<void> {
    if (!downloads.length) return;
    try {
      await this.queues.addBulk(
        QueueName.MediaDownload,
        downloads.map((d) => ({ data: { sessionId: d.sessionId, messageId: d.messageId }, opts: { jobId: JobId.mediaDownload(d.messageId) } })),
      );
    } catch (error) {
      this.background.record('media download enqueue', error);
    }
  }

  /** Whether a job of this message's download exists (waiting, delayed or running) in this worker's queue. */
  async hasJob(messageId: string): Promise<boolean> {
    return (await this.queues.get(QueueName.MediaDownload).getJob(JobId.mediaDownload(messageId))) !== undefined;
  }
}
