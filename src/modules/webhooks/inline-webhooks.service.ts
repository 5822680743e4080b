import { randomUUID } from 'node:crypto';
import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { ValidationError, type ErrorDetail } from '../../common/errors/domain-errors';
import type { DbTransaction } from '../../infra/prisma/transaction';
import type { InlineWebhooks } from '../sessions/ports/inline-webhooks.port';
import { SessionHooks } from '../sessions/session-hooks';
import type { WebhookInput } from '../sessions/session.types';
import { OUTBOUND_URL_GUARD, type OutboundUrlGuard } from '../../infra/outbound-url/outbound-url-guard';
import { normalizeEvents, unknownEvents } from './webhook-events';
import { WebhookMetrics } from './webhook-metrics';
import { WEBHOOK_SECRET_CIPHER, type WebhookSecretCipher } from './webhook-secret-cipher';
import { generateWebhookSecret, isWebhookSecret, WEBHOOK_SECRET_RULE } from './webhook-secret';
import { WebhookRepository } from './webhook.repository';

/**
 * `config.webhooks` of a session as real endpoints (the sessions module's
 * InlineWebhooks port): the same rules as POST /api/sessions/:name/webhooks
 * (SSRF guard, known event names, whsec_ secrets sealed at rest), written in
 * the transaction of the session's create or PATCH, listed by
 * GET /api/sessions/:name/webhooks with source "config".
 */
@Injectable()
export class InlineWebhooksService implements InlineWebhooks, OnModuleInit {
  constructor(
    private readonly hooks: SessionHooks,
    private readonly webhooks: WebhookRepository,
    private readonly metrics: WebhookMetrics,
    @Inject(OUTBOUND_URL_GUARD) private readonly guard: OutboundUrlGuard,
    @Inject(WEBHOOK_SECRET_CIPHER) private readonly cipher: WebhookSecretCipher,
  ) {}

  onModuleInit(): void {
    this.hooks.setInlineWebhooks(this);
  }

  async check(webhooks: readonly WebhookInput[]): Promise<void> {
    const problems: ErrorDetail[] = [];
    const seen = new Set<string>();
    webhooks.forEach((webhook, i) => {
      const field = `config.webhooks[${i}]`;
      if (seen.has(webhook.url)) problems.push({ field: `${field}.url`, message: `${field}.url appears twice in config.webhooks` });
      seen.add(webhook.url);
      const unknown = unknownEvents(webhook.events ?? []);
      if (unknown.length) problems.push({ field: `${field}.events`, message: `${field}.events has unknown event types: ${unknown.join(', ')}` });
      if (webhook.events && !webhook.events.length) problems.push({ field: `${field}.events`, message: `${field}.events must contain at least one event type (["*"] for all)` });
      if (webhook.secret !== undefined && !isWebhookSecret(webhook.secret)) problems.push({ field: `${field}.secret`, message: `${field}.secret must be ${WEBHOOK_SECRET_RULE}` });
    });
    if (problems.length) throw new ValidationError(problems.map((p) => p.message).join('; '), problems);
    // One at a time: the first refused address answers (DNS failures are 503, not 400).
    for (const [i, webhook] of webhooks.entries()) await this.guard.assertAllowed(webhook.url, `config.webhooks[${i}].url`);
  }

  async replace(tx: DbTransaction, sessionId: string, webhooks: readonly WebhookInput[]): Promise<void> {
    const existing = new Map((await this.webhooks.listConfigDeclared(sessionId, tx)).map((row) => [row.url, row]));
    for (const webhook of webhooks) {
      const events = normalizeEvents(webhook.events);
      const row = existing.get(webhook.url);
      if (row) {
        existing.delete(webhook.url);
        await this.webhooks.updateConfigDeclared(row.id, { events, ...(webhook.secret ? { secret: this.cipher.encrypt(webhook.secret, row.id) } : {}) }, tx);
        continue;
      }
      const id = randomUUID();
      const secret = webhook.secret ?? generateWebhookSecret();
      await this.webhooks.create({ id, sessionId, url: webhook.url, events, secret: this.cipher.encrypt(secret, id), fromSessionConfig: true }, tx);
    }
    await this.webhooks.deleteConfigDeclared([...existing.values()].map((row) => row.id), tx);
    this.metrics.changed();
  }
}
