import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { DeliveryRepository, type AttemptOutcome, type DeliveryRecord } from './delivery.repository';

/** Outcomes written per statement at most. */
const MAX_BATCH = 500;

interface PendingWrite {
  claimed: Pick<DeliveryRecord, 'id' | 'attempts' | 'nextAttemptAt'>;
  outcome: AttemptOutcome;
  resolve: (written: boolean) => void;
  reject: (error: unknown) => void;
}

/**
 * Writes attempt outcomes to their delivery rows in batches: the outcomes that
 * arrive while a write is under way (or within the same tick) go together in
 * the next statement (DeliveryRepository.recordMany). Each caller still awaits
 * its own row: `write` resolves once the statement carrying it committed (true
 * when the row was still the claimed one), and rejects when it failed, so the
 * attempt's trigger fails and is retried like any other database error.
 */
@Injectable()
export class DeliveryOutcomeWriter implements OnApplicationShutdown {
  private waiting: PendingWrite[] = [];
  /** The loop that empties `waiting`; it never rejects (failures go to the waiting callers). */
  private writing: Promise<void> | null = null;

  constructor(private readonly deliveries: DeliveryRepository) {}

  write(claimed: PendingWrite['claimed'], outcome: AttemptOutcome): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      this.waiting.push({ claimed, outcome, resolve, reject });
      this.kick();
    });
  }

  private kick(): void {
    if (this.writing) return;
    // An outcome pushed after the loop's last check but before this finally is picked up here.
    this.writing = this.drain().finally(() => {
      this.writing = null;
      if (this.waiting.length) this.kick();
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.writing;
  }

  private async drain(): Promise<void> {
    // Let the outcomes of answers that arrived in the same tick join the first batch.
    await new Promise((resolve) => setImmediate(resolve));
    while (this.waiting.length) {
      const batch = this.waiting.splice(0, MAX_BATCH);
      try {
        const written = await this.deliveries.recordMany(batch);
        for (const item of batch) item.resolve(written.has(item.claimed.id));
      } catch (error) {
        for (const item of batch) item.reject(error);
      }
    }
  }
}
