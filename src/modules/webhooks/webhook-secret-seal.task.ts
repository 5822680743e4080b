import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { LifecycleService } from '../../infra/lifecycle/lifecycle.service';
import { WEBHOOK_SECRET_CIPHER, WebhookSecretDecryptError, type WebhookSecretCipher } from './webhook-secret-cipher';
import { WebhookRepository } from './webhook.repository';

/** Name of the startup task /health/startup waits for. */
export const WEBHOOK_SECRET_SEAL_TASK = 'webhook-secret-encryption';

const BATCH = 200;
const IDS_NAMED = 10;

export interface SecretSealReport {
  /** Rows whose secrets were written again under the current key. */
  resealed: number;
  /** Rows changed by someone else between read and write: left to the newer write. */
  changedMeanwhile: number;
  /** Up to 10 ids of rows the configured keys cannot read (left as they are). */
  unreadable: string[];
  unreadableCount: number;
  stopped: boolean;
}

/**
 * Once AUTH_STATE_KEY is set, brings every stored webhook secret (current and
 * previous) under the current key at boot: plain text written before the key
 * was set, and values under AUTH_STATE_KEY_PREVIOUS. Keyset pages in id order,
 * compare-and-set writes (replicas may run it at once, rotations may happen
 * meanwhile: nothing newer is overwritten). Runs in the background after
 * bootstrap; /health/startup waits for it. Without a key it does nothing.
 */
@Injectable()
export class WebhookSecretSealTask implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(WebhookSecretSealTask.name);
  private running: Promise<void> | null = null;
  private stopRequested = false;

  constructor(
    @Inject(WEBHOOK_SECRET_CIPHER) private readonly cipher: WebhookSecretCipher,
    private readonly webhooks: WebhookRepository,
    private readonly lifecycle: LifecycleService,
  ) {
    if (cipher.encrypts) lifecycle.addStartupTask(WEBHOOK_SECRET_SEAL_TASK);
  }

  onApplicationBootstrap(): void {
    if (!this.cipher.encrypts) return;
    this.running = this.run()
      .then(
        (report) => this.logReport(report),
        (error: unknown) => this.logger.error({ err: error }, 'webhook secret encryption failed; it runs again at the next boot'),
      )
      .finally(() => this.lifecycle.completeStartupTask(WEBHOOK_SECRET_SEAL_TASK));
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopRequested = true;
    await this.running;
  }

  /** Settles when the boot run has ended (immediately when none was started). */
  async whenDone(): Promise<void> {
    await this.running;
  }

  async run(): Promise<SecretSealReport> {
    const report: SecretSealReport = { resealed: 0, changedMeanwhile: 0, unreadable: [], unreadableCount: 0, stopped: false };
    const prefix = this.cipher.currentPrefix;
    if (!prefix) return report;
    let after: string | null = null;
    for (;;) {
      if (this.stopRequested) return { ...report, stopped: true };
      const page = await this.webhooks.findSecretsNotPrefixed(prefix, after, BATCH);
      for (const row of page) {
        let secret: string;
        let previousSecret: string | null;
        try {
          secret = this.reseal(row.secret, row.id);
          previousSecret = row.previousSecret === null ? null : this.reseal(row.previousSecret, row.id);
        } catch (error) {
          if (!(error instanceof WebhookSecretDecryptError)) throw error;
          report.unreadableCount++;
          if (report.unreadable.length < IDS_NAMED) report.unreadable.push(row.id);
          continue;
        }
        if (await this.webhooks.replaceSecrets(row, { secret, previousSecret })) report.resealed++;
        else report.changedMeanwhile++;
      }
      if (page.length < BATCH) return report;
      after = page[page.length - 1].id;
    }
  }

  private reseal(stored: string, webhookId: string): string {
    const opened = this.cipher.open(stored, webhookId);
    return opened.stale ? this.cipher.encrypt(opened.plain, webhookId) : stored;
  }

  private logReport(report: SecretSealReport): void {
    const summary = `webhook secret encryption ${report.stopped ? 'stopped by shutdown' : 'done'}: ${report.resealed} webhook(s) re-encrypted under key ${this.cipher.currentKeyId}, ${report.changedMeanwhile} changed meanwhile`;
    if (!report.unreadableCount) {
      this.logger.log(summary);
      return;
    }
    this.logger.warn(
      `${summary}; ${report.unreadableCount} webhook(s) have secrets AUTH_STATE_KEY and AUTH_STATE_KEY_PREVIOUS cannot decrypt (${report.unreadable.join(', ')}${report.unreadableCount > IDS_NAMED ? ', ...' : ''}): they cannot be signed for until the key they were written with is configured, or their secret is rotated`,
    );
  }
}
