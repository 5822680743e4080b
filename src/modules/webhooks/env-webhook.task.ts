import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../../config';
import { LifecycleService } from '../../infra/lifecycle/lifecycle.service';
import { OUTBOUND_URL_GUARD, type OutboundUrlGuard } from '../../infra/outbound-url/outbound-url-guard';
import { normalizeEvents, unknownEvents, WEBHOOK_EVENT_TYPES } from './webhook-events';
import { WebhookMetrics } from './webhook-metrics';
import { WEBHOOK_SECRET_CIPHER, WebhookSecretDecryptError, type WebhookSecretCipher } from './webhook-secret-cipher';
import { WebhookRepository, type WebhookRecord } from './webhook.repository';

/** `managedBy` of the endpoint WEBHOOK_URL defines (a unique column: one such row at most). */
export const ENV_MANAGED = 'env';
/** Name of the startup task /health/startup waits for. */
export const ENV_WEBHOOK_TASK = 'env-webhook';

const SYNC_ATTEMPTS = 5;
const RETRY_FIRST_MS = 2000;
const RETRY_MAX_MS = 60_000;

export type EnvWebhookOutcome = 'created' | 'updated' | 'unchanged' | 'removed' | 'absent';

/** The configuration is unusable: boot stops with this one line. */
export class EnvWebhookConfigError extends Error {
  override readonly name = 'EnvWebhookConfigError';
}

/**
 * The global endpoint defined by WEBHOOK_URL, WEBHOOK_EVENTS and
 * WEBHOOK_SECRET, brought in line with the environment at every boot, on every
 * role: created when missing, updated when a value changed (a changed secret
 * is a rotation: the old one also signs for WEBHOOK_SECRET_OVERLAP_HOURS; the
 * endpoint becomes ACTIVE again), removed when WEBHOOK_URL is unset.
 *
 * Replicas booting together create exactly one row: it carries
 * `managedBy = "env"`, a unique column, so the second insert fails and that
 * replica compares with the winner's row instead; updates are compare-and-set
 * on the values read, so one change is applied once.
 *
 * Boot stops (one line, no secret in it) when WEBHOOK_EVENTS names an unknown
 * event or WEBHOOK_URL is refused by the SSRF guard (a private address without
 * WEBHOOK_ALLOW_PRIVATE=true). A name that does not resolve yet only warns:
 * deliveries check the address again when they connect. A database failure
 * is logged and retried in the background; /health/startup waits for it.
 */
@Injectable()
export class EnvWebhookTask implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(EnvWebhookTask.name);
  private retryTimer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly webhooks: WebhookRepository,
    private readonly metrics: WebhookMetrics,
    private readonly lifecycle: LifecycleService,
    @Inject(OUTBOUND_URL_GUARD) private readonly guard: OutboundUrlGuard,
    @Inject(WEBHOOK_SECRET_CIPHER) private readonly cipher: WebhookSecretCipher,
  ) {
    // At construction, so no probe answered before bootstrap misses it.
    lifecycle.addStartupTask(ENV_WEBHOOK_TASK);
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.checkConfig();
    await this.attempt(RETRY_FIRST_MS);
  }

  beforeApplicationShutdown(): void {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
  }

  /** Brings the row in line with the environment; safe to run on any number of replicas at once. */
  async sync(): Promise<EnvWebhookOutcome> {
    const url = this.config.WEBHOOK_URL;
    if (!url) return (await this.webhooks.deleteManaged(ENV_MANAGED)) ? 'removed' : 'absent';
    const events = normalizeEvents(this.config.WEBHOOK_EVENTS);
    const secret = this.config.WEBHOOK_SECRET!;
    for (let attempt = 0; attempt < SYNC_ATTEMPTS; attempt++) {
      const row = await this.webhooks.findManaged(ENV_MANAGED);
      if (!row) {
        const id = randomUUID();
        const created = await this.webhooks.create({ id, sessionId: null, url, events, secret: this.cipher.encrypt(secret, id), managedBy: ENV_MANAGED });
        if (created) return 'created';
        continue; // another replica created it first: compare with its row
      }
      const stored = this.readSecret(row);
      const secretChanged = stored !== secret;
      if (row.url === url && sameList(row.events, events) && !secretChanged) return 'unchanged';
      const now = new Date();
      const overlapMs = this.config.WEBHOOK_SECRET_OVERLAP_HOURS * 3_600_000;
      // An old secret nobody can read (another key) signs nothing: it is not kept.
      const keepOld = secretChanged && stored !== null && overlapMs > 0;
      const updated = await this.webhooks.updateManaged(row, {
        url,
        events,
        status: 'ACTIVE',
        ...(secretChanged
          ? {
              secret: this.cipher.encrypt(secret, row.id),
              previousSecret: keepOld ? row.secret : null,
              previousSecretExpiresAt: keepOld ? new Date(now.getTime() + overlapMs) : null,
              secretRotatedAt: now,
            }
          : {}),
      });
      if (updated) return 'updated';
    }
    throw new Error('the WEBHOOK_URL endpoint kept changing while this replica updated it');
  }

  private async checkConfig(): Promise<void> {
    const url = this.config.WEBHOOK_URL;
    if (!url) return;
    const unknown = unknownEvents(this.config.WEBHOOK_EVENTS);
    if (unknown.length) {
      throw new EnvWebhookConfigError(`WEBHOOK_EVENTS names unknown event types (${unknown.join(', ')}): use * or some of ${WEBHOOK_EVENT_TYPES.join(', ')}`);
    }
    const verdict = await this.guard.check(url);
    if (verdict.allowed) return;
    if (verdict.kind === 'unresolvable' || verdict.kind === 'dns-unavailable') {
      this.logger.warn(`WEBHOOK_URL ${verdict.reason}: registered anyway, deliveries check the address when they connect`);
      return;
    }
    throw new EnvWebhookConfigError(`WEBHOOK_URL ${verdict.reason}`);
  }

  private async attempt(nextDelayMs: number): Promise<void> {
    if (this.stopped) return;
    try {
      const outcome = await this.sync();
      this.metrics.changed();
      if (outcome !== 'unchanged' && outcome !== 'absent') this.logger.log(`global webhook from WEBHOOK_URL ${outcome}`);
      this.lifecycle.completeStartupTask(ENV_WEBHOOK_TASK);
    } catch (error) {
      this.logger.error({ err: error }, `could not apply WEBHOOK_URL to the webhook table; retrying in ${nextDelayMs / 1000} s`);
      if (this.stopped) return;
      this.retryTimer = setTimeout(() => void this.attempt(Math.min(nextDelayMs * 2, RETRY_MAX_MS)), nextDelayMs);
      this.retryTimer.unref();
    }
  }

  /** The stored secret in clear, or null when the configured keys cannot read it. */
  private readSecret(row: WebhookRecord): string | null {
    try {
      return this.cipher.decrypt(row.secret, row.id);
    } catch (error) {
      if (error instanceof WebhookSecretDecryptError) return null;
      throw error;
    }
  }
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
