import { Injectable } from '@nestjs/common';
import { PrismaService } from '../../../infra/prisma/prisma.service';

/** One key-store write; value null deletes the key. */
export interface AuthKeyWrite {
  type: string;
  id: string;
  value: string | null;
}

/**
 * Rows per INSERT: one statement carries each column as one array parameter,
 * so the batch size bounds statement size, not the parameter count.
 */
const UPSERT_BATCH = 1000;

/**
 * PostgreSQL access to a session's Baileys credentials (AuthCreds) and Signal
 * keys (AuthKey). Values are opaque (possibly encrypted) strings: this layer
 * neither parses nor decrypts them.
 */
@Injectable()
export class AuthStateRepository {
  constructor(private readonly prisma: PrismaService) {}

  async loadCreds(sessionId: string): Promise<string | null> {
    const row = await this.prisma.authCreds.findUnique({ where: { sessionId }, select: { data: true } });
    return row?.data ?? null;
  }

  async saveCreds(sessionId: string, data: string): Promise<void> {
    await this.prisma.authCreds.upsert({
      where: { sessionId },
      create: { sessionId, data },
      update: { data },
    });
  }

  /** One query for all ids; absent keys are simply missing from the result. */
  async getKeys(sessionId: string, type: string, ids: string[]): Promise<Record<string, string>> {
    if (ids.length === 0) return {};
    const rows = await this.prisma.authKey.findMany({
      where: { sessionId, type, keyId: { in: ids } },
      select: { keyId: true, value: true },
    });
    const result: Record<string, string> = {};
    for (const row of rows) result[row.keyId] = row.value;
    return result;
  }

  /**
   * Applies all writes in one transaction: upserts as batched
   * `INSERT ... ON CONFLICT DO UPDATE`, deletes as one deleteMany per type.
   * When a key appears twice, the last write wins (PostgreSQL rejects an
   * upsert that touches the same row twice in one statement).
   */
  async setKeys(sessionId: string, writes: AuthKeyWrite[]): Promise<void> {
    const last = new Map<string, AuthKeyWrite>();
    for (const write of writes) last.set(`${write.type}\u0000${write.id}`, write);
    const upserts: AuthKeyWrite[] = [];
    const deletesByType = new Map<string, string[]>();
    for (const write of last.values()) {
      if (write.value === null) {
        const ids = deletesByType.get(write.type) ?? [];
        ids.push(write.id);
        deletesByType.set(write.type, ids);
      } else {
        upserts.push(write);
      }
    }

    const statements = [];
    for (let i = 0; i < upserts.length; i += UPSERT_BATCH) {
      const batch = upserts.slice(i, i + UPSERT_BATCH);
      statements.push(this.prisma.$executeRaw`
        INSERT INTO "AuthKey" ("sessionId", "type", "keyId", "value")
        SELECT ${sessionId}::uuid, t.type, t.key_id, t.value
        FROM unnest(${batch.map((w) => w.type)}::text[], ${batch.map((w) => w.id)}::text[], ${batch.map((w) => w.value as string)}::text[])
          AS t(type, key_id, value)
        ON CONFLICT ("sessionId", "type", "keyId") DO UPDATE SET "value" = EXCLUDED."value"`);
    }
    for (const [type, ids] of deletesByType) {
      statements.push(this.prisma.authKey.deleteMany({ where: { sessionId, type, keyId: { in: ids } } }));
    }
    if (statements.length === 0) return;
    await this.prisma.$transaction(statements);
  }

  /** Removes the session's creds and every key in one transaction. */
  async clear(sessionId: string): Promise<void> {
    await this.prisma.$transaction([
      this.prisma.authKey.deleteMany({ where: { sessionId } }),
      this.prisma.authCreds.deleteMany({ where: { sessionId } }),
    ]);
  }

  /** Number of stored keys, optionally of one type (tests and metrics). */
  async countKeys(sessionId: string, type?: string): Promise<number> {
    return this.prisma.authKey.count({ where: { sessionId, ...(type ? { type } : {}) } });
  }
}
