import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { ConflictError, NotFoundError } from '../../common/errors/domain-errors';
import { APP_CONFIG, type AppConfig } from '../../config';
import { SessionsService } from '../sessions/sessions.service';
import { DeliveriesService } from './deliveries/deliveries.service';
import type { DeliveryView } from './deliveries/deliveries.dto';
import { OUTBOUND_URL_GUARD, type OutboundUrlGuard } from '../../infra/outbound-url/outbound-url-guard';
import { normalizeEvents } from './webhook-events';
import { WebhookMetrics } from './webhook-metrics';
import { WEBHOOK_SECRET_CIPHER, type WebhookSecretCipher } from './webhook-secret-cipher';
import { generateWebhookSecret } from './webhook-secret';
import { toWebhookView } from './webhook.view';
import { WebhookRepository, type WebhookRecord, type WebhookStatus } from './webhook.repository';
import type { CreatedWebhookView, CreateWebhookDto, RotatedSecretView, WebhookView } from './webhooks.dto';

/** Endpoints one session, or the global scope, may have: the fan-out of one event stays bounded. */
export const MAX_WEBHOOKS_PER_OWNER = 100;
/** A rotation retried when another one changed the secret between read and write. */
const ROTATE_ATTEMPTS = 5;

/** Whose endpoints: one session's (its id and name) or the global ones. */
type Owner = { sessionId: string; name: string } | { sessionId: null; name: null };
const GLOBAL: Owner = { sessionId: null, name: null };

/**
 * Webhook endpoints: per session (the session's events) and global (every
 * session's). Secrets are generated unless given, encrypted at rest with the
 * auth-state key when one is set, returned only by the call that created or
 * rotated them, and never logged. URLs pass the SSRF guard before anything is
 * stored. Sessions are reached only through SessionsService.
 */
@Injectable()
export class WebhookEndpointsService {
  constructor(
    private readonly webhooks: WebhookRepository,
    private readonly sessions: SessionsService,
    private readonly metrics: WebhookMetrics,
    private readonly deliveries: DeliveriesService,
    @Inject(OUTBOUND_URL_GUARD) private readonly guard: OutboundUrlGuard,
    @Inject(WEBHOOK_SECRET_CIPHER) private readonly cipher: WebhookSecretCipher,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async createForSession(name: string, dto: CreateWebhookDto): Promise<CreatedWebhookView> {
    return this.create(await this.sessionOwner(name), dto);
  }

  createGlobal(dto: CreateWebhookDto): Promise<CreatedWebhookView> {
    return this.create(GLOBAL, dto);
  }

  async listForSession(name: string): Promise<WebhookView[]> {
    const owner = await this.sessionOwner(name);
    return (await this.webhooks.listByOwner(owner.sessionId)).map((r) => toWebhookView(r));
  }

  async listGlobal(): Promise<WebhookView[]> {
    return (await this.webhooks.listByOwner(null)).map((r) => toWebhookView(r));
  }

  async deleteForSession(name: string, id: string): Promise<void> {
    await this.delete(await this.sessionOwner(name), id);
  }

  deleteGlobal(id: string): Promise<void> {
    return this.delete(GLOBAL, id);
  }

  /** Sends a `webhook.test` event to this endpoint alone (a delivery like any other). */
  async testForSession(name: string, id: string): Promise<DeliveryView> {
    return this.deliveries.ping(await this.requireOwned(await this.sessionOwner(name), id));
  }

  async testGlobal(id: string): Promise<DeliveryView> {
    return this.deliveries.ping(await this.requireOwned(GLOBAL, id));
  }

  async setStatusForSession(name: string, id: string, status: WebhookStatus): Promise<WebhookView> {
    return this.setStatus(await this.sessionOwner(name), id, status);
  }

  setStatusGlobal(id: string, status: WebhookStatus): Promise<WebhookView> {
    return this.setStatus(GLOBAL, id, status);
  }

  /**
   * A new secret signs from now on; the old one is kept as the previous secret
   * and also signs until now + WEBHOOK_SECRET_OVERLAP_HOURS (with 0, not at
   * all). Only one previous secret is kept: rotating again within the overlap
   * window ends the older one's overlap.
   */
  async rotateForSession(name: string, id: string, secret?: string): Promise<RotatedSecretView> {
    const owner = await this.sessionOwner(name);
    const next = secret ?? generateWebhookSecret();
    for (let attempt = 0; attempt < ROTATE_ATTEMPTS; attempt++) {
      const record = await this.requireOwned(owner, id);
      const now = new Date();
      const overlapMs = this.config.WEBHOOK_SECRET_OVERLAP_HOURS * 3_600_000;
      const updated = await this.webhooks.changeSecret({
        id,
        fromSecret: record.secret,
        secret: this.cipher.encrypt(next, id),
        // Moved as stored: both secrets of a webhook are bound to the webhook, not to a column.
        previousSecret: overlapMs > 0 ? record.secret : null,
        previousSecretExpiresAt: overlapMs > 0 ? new Date(now.getTime() + overlapMs) : null,
        secretRotatedAt: now,
      });
      if (updated) return { secret: next, previousSecretExpiresAt: updated.previousSecretExpiresAt?.toISOString() ?? null };
    }
    throw new ConflictError('The secret was rotated concurrently, retry');
  }

  private async create(owner: Owner, dto: CreateWebhookDto): Promise<CreatedWebhookView> {
    await this.guard.assertAllowed(dto.url, 'url');
    if ((await this.webhooks.countByOwner(owner.sessionId)) >= MAX_WEBHOOKS_PER_OWNER) {
      throw new ConflictError(`${owner.name ? `Session "${owner.name}"` : 'The global scope'} already has ${MAX_WEBHOOKS_PER_OWNER} webhooks, the most allowed`);
    }
    const id = randomUUID();
    const secret = dto.secret ?? generateWebhookSecret();
    const record = await this.webhooks.create({
      id,
      sessionId: owner.sessionId,
      url: dto.url,
      events: normalizeEvents(dto.events),
      secret: this.cipher.encrypt(secret, id),
    });
    // Only a unique marker can collide, and API-created rows carry none.
    if (!record) throw new ConflictError('A webhook with this id already exists, retry');
    this.metrics.changed();
    return { ...toWebhookView(record), secret };
  }

  private async setStatus(owner: Owner, id: string, status: WebhookStatus): Promise<WebhookView> {
    await this.requireOwned(owner, id);
    const updated = await this.webhooks.setStatus(id, status);
    if (!updated) throw this.notFound(owner, id);
    if (status === 'DISABLED') await this.deliveries.failPending(id);
    this.metrics.changed();
    return toWebhookView(updated);
  }

  private async delete(owner: Owner, id: string): Promise<void> {
    const record = await this.requireOwned(owner, id);
    if (record.managedBy) {
      throw new ConflictError('This webhook is defined by WEBHOOK_URL: unset WEBHOOK_URL (or change it) and restart to remove it');
    }
    if (record.fromSessionConfig) {
      throw new ConflictError("This webhook is declared in the session's config.webhooks: PATCH /api/sessions/:name with the list without it");
    }
    if (!(await this.webhooks.deleteForOwner(id, owner.sessionId))) throw this.notFound(owner, id);
    this.metrics.changed();
  }

  private async requireOwned(owner: Owner, id: string): Promise<WebhookRecord> {
    const record = await this.webhooks.findForOwner(id, owner.sessionId);
    if (!record) throw this.notFound(owner, id);
    return record;
  }

  private notFound(owner: Owner, id: string): NotFoundError {
    return new NotFoundError(owner.name ? `Webhook ${id} not found in session "${owner.name}"` : `Global webhook ${id} not found`);
  }

  private async sessionOwner(name: string): Promise<Owner> {
    return { sessionId: await this.sessions.idOf(name), name };
  }
}
