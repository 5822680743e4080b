import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../../../config';
import { RedisLockService } from '../../../infra/locks/redis-lock.service';
import { BackgroundFailures } from '../../../infra/metrics/background-failures';
import { SessionChannels } from '../../sessions/session-channels';
import { SessionHooks } from '../../sessions/session-hooks';
import { InboundMediaRepository } from './inbound-media.repository';
import { MediaDownloads } from './media-downloads';

/** Rows looked at per pass at most (the next pass goes on). */
const BATCH = 200;
/** A row changed this recently has its job (just enqueued, or retrying): not looked at yet. */
const GRACE_MS = 5000;

/**
 * Re-creates lost media-download jobs on the sessions' owners. The recorder
 * enqueues a job after the commit; a job can still be lost (Redis down at
 * that moment, a restart, the session moving to another worker, whose copy
 * of the owner queue is not this one). So each worker, every
 * MESSAGE_RECONCILE_INTERVAL_MS and whenever a session becomes WORKING here,
 * looks at the DOWNLOADING media of the sessions it owns and enqueues those
 * without a job in its queue. Passes of one worker do not overlap (a Redis
 * lock named after it: the work is per owner, so workers do not exclude each
 * other).
 */
@Injectable()
export class MediaDownloadKicks implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private timer: NodeJS.Timeout | null = null;
  private unhook: (() => void) | null = null;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly repository: InboundMediaRepository,
    private readonly downloads: MediaDownloads,
    private readonly channels: SessionChannels,
    private readonly hooks: SessionHooks,
    private readonly locks: RedisLockService,
    private readonly background: BackgroundFailures,
  ) {}

  onApplicationBootstrap(): void {
    this.unhook = this.hooks.onSessionWorking((session) => this.kick([session.id], 0));
    this.timer = setInterval(() => this.background.track('media downloads reconcile', this.tick()), this.config.MESSAGE_RECONCILE_INTERVAL_MS);
    this.timer.unref();
  }

  beforeApplicationShutdown(): void {
    this.unhook?.();
    if (this.timer) clearInterval(this.timer);
  }

  /** One pass over the sessions WORKING here, unless a pass of this worker is still running. */
  async tick(): Promise<void> {
    await this.locks.runExclusive(`media-downloads-${this.config.INSTANCE_ID}`, 60_000, () => this.kick(this.channels.workingHere(), GRACE_MS));
  }

  /** Enqueues the DOWNLOADING media of these sessions unchanged for `graceMs` that have no job here. */
  async kick(sessionIds: string[], graceMs: number): Promise<void> {
    const pending = await this.repository.pending(sessionIds, new Date(Date.now() - graceMs), BATCH);
    const missing = [];
    for (const download of pending) if (!(await this.downloads.hasJob(download.messageId))) missing.push(download);
    await this.downloads.enqueue(missing);
  }
}
