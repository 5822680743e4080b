import { Injectable } from '@nestjs/common';
import { Prisma, type Webhook } from '../../generated/prisma/client';
import { PrismaService } from '../../infra/prisma/prisma.service';
import { dbClient, type DbTransaction } from '../../infra/prisma/transaction';

export type WebhookStatus = 'ACTIVE' | 'DISABLED';
export const WEBHOOK_STATUSES: readonly WebhookStatus[] = ['ACTIVE', 'DISABLED'];

/** One Webhook row. `secret` and `previousSecret` are the stored (possibly encrypted) values. */
export interface WebhookRecord {
  id: string;
  /** null: a global endpoint (every session's events). */
  sessionId: string | null;
  /** The session's name (null for global endpoints). */
  sessionName: string | null;
  url: string;
  events: string[];
  status: WebhookStatus;
  secret: string;
  previousSecret: string | null;
  previousSecretExpiresAt: Date | null;
  secretRotatedAt: Date | null;
  /** "env" for the endpoint WEBHOOK_URL defines; null for API-created ones. */
  managedBy: string | null;
  /** Declared in the session's config.webhooks (replaced with that list). */
  fromSessionConfig: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export interface NewWebhook {
  id: string;
  sessionId: string | null;
  url: string;
  events: string[];
  secret: string;
  managedBy?: string;
  fromSessionConfig?: boolean;
}

/** A secret change, applied only if the row still holds `fromSecret` (compare-and-set). */
export interface SecretChange {
  id: string;
  fromSecret: string;
  secret: string;
  previousSecret: string | null;
  previousSecretExpiresAt: Date | null;
  secretRotatedAt: Date;
}

/** The stored secrets of a row, as the re-encryption task pages through them. */
export interface StoredSecrets {
  id: string;
  secret: string;
  previousSecret: string | null;
}

const isKnown = (error: unknown, code: string) => error instanceof Prisma.PrismaClientKnownRequestError && error.code === code;
const withSession = { session: { select: { name: true } } } as const;

/** The Webhook table: the only file of the webhooks module that touches Prisma. */
@Injectable()
export class WebhookRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** Inserts a row; null when its unique marker (`managedBy`) is taken, i.e. another replica created it first. */
  async create(webhook: NewWebhook, tx?: DbTransaction): Promise<WebhookRecord | null> {
    try {
      const row = await dbClient(this.prisma, tx).webhook.create({
        data: {
          id: webhook.id,
          sessionId: webhook.sessionId,
          url: webhook.url,
          events: webhook.events,
          secret: webhook.secret,
          managedBy: webhook.managedBy ?? null,
          fromSessionConfig: webhook.fromSessionConfig ?? false,
        },
        include: withSession,
      });
      return toRecord(row);
    } catch (error) {
      if (isKnown(error, 'P2002')) return null;
      throw error;
    }
  }

  /** The endpoints of one session (`sessionId`) or the global ones (null), oldest first. */
  async listByOwner(sessionId: string | null): Promise<WebhookRecord[]> {
    const rows = await this.prisma.webhook.findMany({ where: { sessionId }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }], include: withSession });
    return rows.map(toRecord);
  }

  countByOwner(sessionId: string | null): Promise<number> {
    return this.prisma.webhook.count({ where: { sessionId } });
  }

  /** The endpoint `id` if it belongs to that owner (a session's id, or null for global). */
  async findForOwner(id: string, sessionId: string | null): Promise<WebhookRecord | null> {
    const row = await this.prisma.webhook.findFirst({ where: { id, sessionId }, include: withSession });
    return row ? toRecord(row) : null;
  }

  /** Deletes the endpoint `id` of that owner unless it is managed; true when a row went. */
  async deleteForOwner(id: string, sessionId: string | null): Promise<boolean> {
    const { count } = await this.prisma.webhook.deleteMany({ where: { id, sessionId, managedBy: null, fromSessionConfig: false } });
    return count > 0;
  }

  /** Applies `change` if the row still holds `fromSecret`; the updated row, or null (changed meanwhile or gone). */
  async changeSecret(change: SecretChange): Promise<WebhookRecord | null> {
    const { count } = await this.prisma.webhook.updateMany({
      where: { id: change.id, secret: change.fromSecret },
      data: {
        secret: change.secret,
        previousSecret: change.previousSecret,
        previousSecretExpiresAt: change.previousSecretExpiresAt,
        secretRotatedAt: change.secretRotatedAt,
      },
    });
    if (!count) return null;
    const row = await this.prisma.webhook.findUnique({ where: { id: change.id }, include: withSession });
    return row ? toRecord(row) : null;
  }

  /** The endpoints a session declares in its config.webhooks (in the caller's transaction). */
  async listConfigDeclared(sessionId: string, tx?: DbTransaction): Promise<WebhookRecord[]> {
    const rows = await dbClient(this.prisma, tx).webhook.findMany({ where: { sessionId, fromSessionConfig: true }, include: withSession });
    return rows.map(toRecord);
  }

  /** Changes the events (and the stored secret, when given) of a config-declared endpoint. */
  async updateConfigDeclared(id: string, patch: { events: string[]; secret?: string }, tx?: DbTransaction): Promise<void> {
    await dbClient(this.prisma, tx).webhook.updateMany({ where: { id, fromSessionConfig: true }, data: patch });
  }

  async deleteConfigDeclared(ids: string[], tx?: DbTransaction): Promise<void> {
    if (ids.length) await dbClient(this.prisma, tx).webhook.deleteMany({ where: { id: { in: ids }, fromSessionConfig: true } });
  }

  /** Sets the endpoint's status; the updated row, or null when it is gone. */
  async setStatus(id: string, status: WebhookStatus): Promise<WebhookRecord | null> {
    const { count } = await this.prisma.webhook.updateMany({ where: { id }, data: { status } });
    if (!count) return null;
    const row = await this.prisma.webhook.findUnique({ where: { id }, include: withSession });
    return row ? toRecord(row) : null;
  }

  async findManaged(managedBy: string): Promise<WebhookRecord | null> {
    const row = await this.prisma.webhook.findUnique({ where: { managedBy }, include: withSession });
    return row ? toRecord(row) : null;
  }

  /**
   * Updates the managed row if it still is as `expected` (url, events, secret):
   * compare-and-set, so replicas booting together apply one change once.
   */
  async updateManaged(
    expected: Pick<WebhookRecord, 'id' | 'url' | 'events' | 'secret'>,
    patch: Pick<WebhookRecord, 'url' | 'events' | 'status'> & Partial<Omit<SecretChange, 'id' | 'fromSecret'>>,
  ): Promise<boolean> {
    const { count } = await this.prisma.webhook.updateMany({
      where: { id: expected.id, url: expected.url, events: { equals: expected.events }, secret: expected.secret },
      data: patch,
    });
    return count > 0;
  }

  async deleteManaged(managedBy: string): Promise<number> {
    return (await this.prisma.webhook.deleteMany({ where: { managedBy } })).count;
  }

  /** Endpoints by status, every one counted (cluster-wide). */
  async countByStatus(): Promise<Record<WebhookStatus, number>> {
    const groups = await this.prisma.webhook.groupBy({ by: ['status'], _count: { _all: true } });
    const counts: Record<WebhookStatus, number> = { ACTIVE: 0, DISABLED: 0 };
    for (const g of groups) counts[g.status] = g._count._all;
    return counts;
  }

  /** A page of rows whose secret or previous secret lacks `prefix` (not under the current key), in id order after `after`. */
  async findSecretsNotPrefixed(prefix: string, after: string | null, limit: number): Promise<StoredSecrets[]> {
    return this.prisma.webhook.findMany({
      where: {
        ...(after ? { id: { gt: after } } : {}),
        OR: [{ NOT: { secret: { startsWith: prefix } } }, { previousSecret: { not: null }, NOT: { previousSecret: { startsWith: prefix } } }],
      },
      orderBy: { id: 'asc' },
      take: limit,
      select: { id: true, secret: true, previousSecret: true },
    });
  }

  /** Replaces the stored secrets of a row if they are still `from` (compare-and-set); true when it did. */
  async replaceSecrets(from: StoredSecrets, to: Omit<StoredSecrets, 'id'>): Promise<boolean> {
    const { count } = await this.prisma.webhook.updateMany({
      where: { id: from.id, secret: from.secret, previousSecret: from.previousSecret },
      data: { secret: to.secret, previousSecret: to.previousSecret },
    });
    return count > 0;
  }
}

function toRecord(row: Webhook & { session: { name: string } | null }): WebhookRecord {
  return {
    id: row.id,
    sessionId: row.sessionId,
    sessionName: row.session?.name ?? null,
    url: row.url,
    events: row.events,
    status: row.status,
    secret: row.secret,
    previousSecret: row.previousSecret,
    previousSecretExpiresAt: row.previousSecretExpiresAt,
    secretRotatedAt: row.secretRotatedAt,
    managedBy: row.managedBy,
    fromSessionConfig: row.fromSessionConfig,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}
