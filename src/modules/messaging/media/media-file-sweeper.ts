import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { RedisLockService } from '../../../infra/locks/redis-lock.service';
import { BackgroundFailures } from '../../../infra/metrics/background-failures';
import { InboundMediaRepository } from './inbound-media.repository';
import { INBOUND_MEDIA_PREFIX, MEDIA_STORAGE, messageIdOfKey, type MediaStorage, type StoredFileEntry } from './media-storage';

/** How often the media storage is swept (and first, a minute after boot). */
const SWEEP_EVERY_MS = 60 * 60_000;
const FIRST_SWEEP_MS = 60_000;
/** Files younger than this are left alone: a download may have written one and not committed it yet. */
export const SWEEP_MIN_AGE_MS = 60 * 60_000;
/** Keys checked against PostgreSQL per statement. */
const BATCH = 500;

/**
 * Deletes received media files nothing refers to any more: their Media row
 * went with the message's history (the cleanup's pruning), a deleted session,
 * or a download that wrote its file and never recorded it. The rows are the
 * truth, so the storage is compared with them: every hour one worker
 * (cluster-wide Redis lock: the storage is shared) lists the received files
 * older than an hour and deletes those whose message has no Media row naming
 * them. GET /api/media/:id of a pruned message answers 410 (or 404 once the
 * message row is gone too) whether the file is deleted yet or not.
 */
@Injectable()
export class MediaFileSweeper implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(MediaFileSweeper.name);
  private timers: NodeJS.Timeout[] = [];
  private stopping = false;

  constructor(
    private readonly repository: InboundMediaRepository,
    @Inject(MEDIA_STORAGE) private readonly storage: MediaStorage,
    private readonly locks: RedisLockService,
    private readonly background: BackgroundFailures,
  ) {}

  onApplicationBootstrap(): void {
    const run = () => this.background.track('media file sweep', this.tick());
    const first = setTimeout(run, FIRST_SWEEP_MS);
    const every = setInterval(run, SWEEP_EVERY_MS);
    first.unref();
    every.unref();
    this.timers = [first, every];
  }

  beforeApplicationShutdown(): void {
    this.stopping = true;
    for (const timer of this.timers) clearTimeout(timer);
  }

  async tick(): Promise<void> {
    await this.locks.runExclusive('media-file-sweep', 30 * 60_000, () => this.sweep(SWEEP_MIN_AGE_MS));
  }

  /** One pass; returns the number of files deleted. */
  async sweep(minAgeMs: number, now = new Date()): Promise<number> {
    const before = now.getTime() - minAgeMs;
    let batch: StoredFileEntry[] = [];
    let deleted = 0;
    for await (const file of this.storage.list(INBOUND_MEDIA_PREFIX)) {
      if (this.stopping) break;
      if (file.modifiedAt.getTime() > before) continue;
      batch.push(file);
      if (batch.length >= BATCH) {
        deleted += await this.deleteUnused(batch);
        batch = [];
      }
    }
    deleted += await this.deleteUnused(batch);
    if (deleted) this.logger.log({ deleted }, 'received media files without a message deleted');
    return deleted;
  }

  private async deleteUnused(files: StoredFileEntry[]): Promise<number> {
    if (!files.length) return 0;
    const ids = [...new Set(files.map((f) => messageIdOfKey(f.key)).filter((id): id is string => id !== null))];
    const inUse = await this.repository.keysInUse(ids);
    let deleted = 0;
    for (const file of files) {
      if (inUse.has(file.key)) continue;
      await this.storage.delete(file.key);
      deleted++;
    }
    return deleted;
  }
}
