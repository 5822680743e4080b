import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../../../config';
import { LRUCache } from 'lru-cache';
import type { EventEnvelope } from '../../../infra/events/event-log';
import { OUTBOUND_URL_GUARD, type OutboundUrlGuard } from '../../../infra/outbound-url/outbound-url-guard';
import { WEBHOOK_SECRET_CIPHER, type WebhookSecretCipher } from '../webhook-secret-cipher';
import { webhookSecretKey } from '../webhook-secret';
import { WebhookMetrics } from '../webhook-metrics';
import { WebhookRepository } from '../webhook.repository';
import { retryDelayMs, type RetrySchedule } from './delivery-backoff';
import { DeliveryMetrics } from './delivery-metrics';
import { DeliveryTriggers } from './delivery-triggers';
import { DeliveryOutcomeWriter } from './delivery-outcome-writer';
import { DeliveryRepository, type AttemptOutcome, type ClaimedDelivery } from './delivery.repository';
import { WebhookHttpClient, type WebhookResponse } from './webhook-http-client';
import { signatureHeader } from './webhook-signer';
import { ZAPHUB_USER_AGENT } from './user-agent';

/** A claim outlives the attempt's timeout by this much before another worker may retry it. */
const CLAIM_MARGIN_MS = 30_000;

/**
 * Delivery attempts, on any worker. A claimed row (by the dispatcher, in
 * batches, or by a webhook-delivery trigger, one by one: a duplicate trigger
 * finds nothing to do) gets its envelope signed the Standard Webhooks way and
 * POSTed through the SSRF-safe client; the outcome is recorded on the row
 * (batched with other attempts' outcomes): DELIVERED on 2xx; on anything else
 * the next attempt's time (and its delayed trigger), or FAILED once the
 * schedule is exhausted; a 410 disables the endpoint.
 */
@Injectable()
export class DeliveryAttemptService implements OnApplicationShutdown {
  private readonly logger = new Logger(DeliveryAttemptService.name);
  private readonly client: WebhookHttpClient;
  private readonly schedule: RetrySchedule;
  /** Decrypted signing keys per endpoint and stored secrets (a rotation changes the key of the entry). */
  private readonly keys = new LRUCache<string, { current: Buffer | null; previous: Buffer | null }>({ max: 1000 });

  constructor(
    private readonly deliveries: DeliveryRepository,
    private readonly webhooks: WebhookRepository,
    private readonly triggers: DeliveryTriggers,
    private readonly outcomes: DeliveryOutcomeWriter,
    private readonly metrics: DeliveryMetrics,
    private readonly endpointMetrics: WebhookMetrics,
    @Inject(OUTBOUND_URL_GUARD) private readonly guard: OutboundUrlGuard,
    @Inject(WEBHOOK_SECRET_CIPHER) private readonly cipher: WebhookSecretCipher,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.client = new WebhookHttpClient(guard.lookup, Math.max(32, config.QUEUE_WEBHOOK_DELIVERY_CONCURRENCY));
    this.schedule = { baseMs: config.WEBHOOK_RETRY_BASE_MS, maxDelayMs: config.WEBHOOK_RETRY_MAX_DELAY_MS, maxAttempts: config.WEBHOOK_MAX_ATTEMPTS };
  }

  onApplicationShutdown(): void {
    this.client.close();
  }

  /** Makes the attempt a trigger asked for, if the delivery is still due. */
  async attempt(deliveryId: string): Promise<void> {
    const now = new Date();
    const claimed = await this.deliveries.claim(deliveryId, now, this.leaseFrom(now));
    if (!claimed) return;
    await this.run(claimed.delivery, envelopesOf([claimed]));
  }

  /**
   * Claims up to `limit` due first attempts for the dispatcher, with their
   * envelopes (one statement for the whole batch). Each is then `run`.
   */
  async claimFirstAttempts(limit: number): Promise<{ claimed: ClaimedDelivery[]; envelopes: Map<string, EventEnvelope> }> {
    const now = new Date();
    const rows = await this.deliveries.claimFirstAttempts(limit, now, this.leaseFrom(now));
    return { claimed: rows.map((r) => r.delivery), envelopes: envelopesOf(rows) };
  }

  /**
   * One attempt of a claimed delivery; `envelopes` holds its event's envelope
   * (pings carry their own). `onSent` is called once the request is over
   * (answered, failed or never made), before the outcome is written: the
   * dispatcher's concurrency bounds requests, not writes waiting for a batch.
   */
  async run(claimed: ClaimedDelivery, envelopes: Map<string, EventEnvelope>, onSent: () => void = () => undefined): Promise<void> {
    try {
      await this.runOnce(claimed, envelopes, onSent);
    } finally {
      onSent();
    }
  }

  private async runOnce(claimed: ClaimedDelivery, envelopes: Map<string, EventEnvelope>, onSent: () => void): Promise<void> {
    if (claimed.webhook.status !== 'ACTIVE') {
      await this.finish(claimed, { kind: 'failed', statusCode: null, error: 'webhook disabled: enable it, then redeliver', countsAsAttempt: false }, 'failed', null);
      return;
    }
    const envelope = claimed.payload ?? (claimed.eventId ? envelopes.get(claimed.eventId) : undefined);
    if (!envelope) {
      await this.finish(claimed, { kind: 'failed', statusCode: null, error: 'the event is no longer in the event log', countsAsAttempt: false }, 'failed', null);
      return;
    }
    const response = await this.send(claimed, envelope as { id: string; event: string; session: string | null });
    onSent();
    await this.finish(claimed, ...this.outcomeOf(claimed, response));
  }

  /** A claim outlives the attempt's timeout, so only a dead worker's claim ever expires. */
  private leaseFrom(now: Date): Date {
    return new Date(now.getTime() + this.config.WEBHOOK_TIMEOUT_MS + CLAIM_MARGIN_MS);
  }

  private async send(claimed: ClaimedDelivery, envelope: { id: string; event: string; session: string | null }): Promise<WebhookResponse> {
    // Node calls the connect-time lookup only for names: judge IP literals (and a changed config) here.
    const verdict = await this.guard.check(claimed.webhook.url);
    if (!verdict.allowed) return { kind: 'no-answer', error: `url ${verdict.reason}`, code: verdict.kind, durationMs: 0 };
    const body = JSON.stringify(envelope);
    const timestamp = Math.floor(Date.now() / 1000);
    return this.client.post({
      url: claimed.webhook.url,
      body,
      timeoutMs: this.config.WEBHOOK_TIMEOUT_MS,
      headers: {
        'content-type': 'application/json',
        'user-agent': ZAPHUB_USER_AGENT,
        'webhook-id': envelope.id,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': signatureHeader(this.signingKeys(claimed), envelope.id, timestamp, body),
        'x-zaphub-event': envelope.event,
        'x-zaphub-session': envelope.session ?? '',
      },
    });
  }

  /** The current secret's key, and the previous one's while its overlap lasts. */
  private signingKeys(claimed: ClaimedDelivery): Buffer[] {
    const { webhook } = claimed;
    // Decrypting (AES-GCM) and decoding per attempt cost more than the signature itself.
    const cacheKey = `${webhook.id} ${webhook.secret} ${webhook.previousSecret ?? ''}`;
    let keys = this.keys.get(cacheKey);
    if (!keys) {
      keys = {
        current: webhookSecretKey(this.cipher.decrypt(webhook.secret, webhook.id)),
        previous: webhook.previousSecret ? webhookSecretKey(this.cipher.decrypt(webhook.previousSecret, webhook.id)) : null,
      };
      this.keys.set(cacheKey, keys);
    }
    const overlap = webhook.previousSecretExpiresAt !== null && webhook.previousSecretExpiresAt.getTime() > Date.now();
    return [keys.current, overlap ? keys.previous : null].filter((key): key is Buffer => key !== null);
  }

  private outcomeOf(claimed: ClaimedDelivery, response: WebhookResponse): [AttemptOutcome, 'delivered' | 'retry' | 'failed' | 'disabled', number] {
    if (response.kind === 'answered' && response.statusCode >= 200 && response.statusCode < 300) {
      return [{ kind: 'delivered', statusCode: response.statusCode, at: new Date() }, 'delivered', response.durationMs];
    }
    const statusCode = response.kind === 'answered' ? response.statusCode : null;
    const error = response.kind === 'answered' ? describeAnswer(response.statusCode, response.body) : response.error;
    if (statusCode === 410) {
      return [{ kind: 'failed', statusCode, error: `${error} (410 Gone: the webhook is now DISABLED)`, countsAsAttempt: true }, 'disabled', response.durationMs];
    }
    const delay = retryDelayMs(claimed.attempts + 1, this.schedule);
    if (delay === null) return [{ kind: 'failed', statusCode, error, countsAsAttempt: true }, 'failed', response.durationMs];
    return [{ kind: 'retry', statusCode, error, nextAttemptAt: new Date(Date.now() + delay) }, 'retry', response.durationMs];
  }

  private async finish(claimed: ClaimedDelivery, outcome: AttemptOutcome, result: 'delivered' | 'retry' | 'failed' | 'disabled', durationMs: number | null): Promise<void> {
    if (result === 'disabled') {
      await this.webhooks.setStatus(claimed.webhookId, 'DISABLED');
      this.endpointMetrics.changed();
      this.logger.warn({ webhookId: claimed.webhookId }, 'webhook answered 410 Gone: disabled');
    }
    const written = await this.outcomes.write(claimed, outcome);
    if (durationMs === null) this.metrics.ended(result);
    else this.metrics.attempted(result, durationMs);
    if (written && outcome.kind === 'retry') {
      await this.triggers.trigger([{ id: claimed.id, attempts: claimed.attempts + 1, delayMs: Math.max(0, outcome.nextAttemptAt.getTime() - Date.now()) }]);
    }
  }
}

/** The envelopes of claimed deliveries by event id (a test ping has none: it carries its own payload). */
function envelopesOf(rows: Array<{ envelope: EventEnvelope | null }>): Map<string, EventEnvelope> {
  const envelopes = new Map<string, EventEnvelope>();
  for (const { envelope } of rows) if (envelope) envelopes.set(envelope.id, envelope);
  return envelopes;
}

/** "HTTP 500: <body>" with the body cut to what the client kept (1 KB). */
function describeAnswer(statusCode: number, body: string): string {
  const text = body.trim();
  return text ? `HTTP ${statusCode}: ${text}` : `HTTP ${statusCode}`;
}
