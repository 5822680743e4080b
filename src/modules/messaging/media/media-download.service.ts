import { Inject, Injectable, Logger } from '@nestjs/common';
import { Counter } from 'prom-client';
import { APP_CONFIG, type AppConfig } from '../../../config';
import { EventLog } from '../../../infra/events/event-log';
import { MetricsRegistry } from '../../../infra/metrics/metrics.registry';
import { TransactionRunner } from '../../../infra/prisma/transaction';
import { SessionChannels, SessionNotReadyError } from '../../sessions/session-channels';
import { toMessageView } from '../message.view';
import { InboundMediaRepository, type DownloadTarget } from './inbound-media.repository';
import { afterFailure, describeFailure, finishedMediaView } from './inbound-media-rules';
import { inboundMediaKey, MEDIA_STORAGE, MediaTooLargeError, type MediaStorage } from './media-storage';

/** What the processor knows of the job's attempt. */
export interface DownloadAttempt {
  sessionId: string;
  messageId: string;
}

/**
 * Downloads the file of a received message on the session's owner: the
 * engine streams it (asking the sender's phone for a re-upload when it
 * expired) into the media storage, within MEDIA_MAX_BYTES; then, in one
 * transaction, the Media row becomes READY and `message.media` is appended.
 * A failure is counted on the row and thrown (BullMQ retries with backoff);
 * a file too large, a message without media, or the last attempt
 * (QUEUE_MEDIA_DOWNLOAD_ATTEMPTS, counted on the row so it survives
 * re-enqueues) make it FAILED, with `message.media` too. The message itself
 * stays recorded whatever happens here.
 */
@Injectable()
export class MediaDownloadService {
  private readonly logger = new Logger(MediaDownloadService.name);
  private readonly results: Counter<'result'>;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly repository: InboundMediaRepository,
    private readonly channels: SessionChannels,
    @Inject(MEDIA_STORAGE) private readonly storage: MediaStorage,
    private readonly transactions: TransactionRunner,
    private readonly log: EventLog,
    metrics: MetricsRegistry,
  ) {
    this.results = new Counter({
      name: 'zaphub_media_downloads_total',
      help: 'Received media download attempts in this process, by result (ready, retry: failed and tried again later, failed: for good)',
      labelNames: ['result'],
      registers: [metrics.registry],
    });
    for (const result of ['ready', 'retry', 'failed']) this.results.inc({ result }, 0);
  }

  async download({ messageId }: DownloadAttempt): Promise<void> {
    const target = await this.repository.target(messageId);
    if (!target || target.status !== 'DOWNLOADING') return; // done already, or gone with its message
    // Only the owner holds the socket. Not (or no longer) here: the owner's reconciler enqueues it in its own queue.
    const channel = this.channels.get(target.sessionId);
    if (!channel) return;
    const max = this.config.MEDIA_MAX_BYTES;
    if (target.size > max) return this.fail(target, new MediaTooLargeError(max));
    const key = inboundMediaKey(target.sessionId, messageId);
    try {
      const download = await channel.downloadMedia(target.raw);
      const file = await this.storage.write(key, download.stream, max);
      const recorded = await this.transactions.run(async (tx) => {
        const ready = await this.repository.markReady(tx, messageId, { storageKey: key, ...file });
        if (ready) await this.appendEvent(tx, ready);
        return ready !== null;
      });
      // The row left DOWNLOADING meanwhile (its message was pruned): keep no orphan file.
      if (!recorded) await this.storage.delete(key);
      else this.results.inc({ result: 'ready' });
    } catch (error) {
      // The socket went away mid-download: not the file's fault; the session's next owner (or this
      // worker once it is WORKING again) enqueues it again.
      if (error instanceof SessionNotReadyError) return;
      if (afterFailure(error, target.attempts + 1, this.config.QUEUE_MEDIA_DOWNLOAD_ATTEMPTS) === 'fail') return this.fail(target, error);
      await this.repository.attemptFailed(messageId, describeFailure(error));
      this.results.inc({ result: 'retry' });
      this.logger.warn({ messageId, attempt: target.attempts + 1, err: describeFailure(error) }, 'media download failed; retried later');
      throw error;
    }
  }

  private async fail(target: DownloadTarget, error: unknown): Promise<void> {
    const reason = describeFailure(error);
    await this.transactions.run(async (tx) => {
      const failed = await this.repository.markFailed(tx, target.messageId, reason);
      if (failed) await this.appendEvent(tx, failed);
    });
    this.results.inc({ result: 'failed' });
    this.logger.warn({ messageId: target.messageId, err: reason }, 'media download failed for good');
  }

  private async appendEvent(tx: Parameters<EventLog['append']>[0], done: NonNullable<Awaited<ReturnType<InboundMediaRepository['markReady']>>>): Promise<void> {
    await this.log.append(tx, {
      sessionId: done.message.sessionId,
      sessionName: done.message.sessionName,
      type: 'message.media',
      data: { ...toMessageView(done.message), media: finishedMediaView(done.media) },
    });
  }
}
