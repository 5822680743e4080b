import { Inject, Injectable, Optional } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../../../config';
import { Prisma } from '../../../generated/prisma/client';
import { PrismaService } from '../../../infra/prisma/prisma.service';
import { isSealedAuthValue } from './auth-state-cipher';

/** One key-store write; value null deletes the key. */
export interface AuthKeyWrite {
  type: string;
  id: string;
  value: string | null;
}

/** Replaces a stored key value only if it is still `from` (compare-and-set). */
export interface AuthKeyReplacement {
  sessionId: string;
  type: string;
  id: string;
  from: string;
  to: string;
}

/** Replaces a session's stored creds only if they are still `from` (compare-and-set). */
export interface AuthCredsReplacement {
  sessionId: string;
  from: string;
  to: string;
}

/** A stored key row, as the re-encryption task pages through them. */
export interface StoredAuthKey {
  sessionId: string;
  type: string;
  keyId: string;
  value: string;
}

/** Position after the last row of a page of AuthKey rows (primary key order). */
export type AuthKeyCursor = Pick<StoredAuthKey, 'sessionId' | 'type' | 'keyId'>;

/**
 * Thrown when a value that is not in the encrypted format is about to be
 * written while AUTH_STATE_KEY is set: a bug, or a replica without the key.
 */
export class UnencryptedAuthWriteError extends Error {
  override readonly name = 'UnencryptedAuthWriteError';
}

/**
 * Rows per INSERT: one statement carries each column as one array parameter,
 * so the batch size bounds statement size, not the parameter count.
 */
const UPSERT_BATCH = 1000;

/** setKeys calls written in one transaction at most. */
const KEY_WRITE_CALLS_PER_TRANSACTION = 200;

/**
 * PostgreSQL access to a session's Baileys credentials (AuthCreds) and Signal
 * keys (AuthKey). Values are opaque (possibly encrypted) strings: this layer
 * neither parses nor decrypts them.
 *
 * With AUTH_STATE_KEY configured it refuses to write any value that is not in
 * the encrypted format (UnencryptedAuthWriteError), so no code path can put
 * secrets back in clear once encryption is on. It does not refuse to read
 * plain text: rows written before the key was set must stay readable until
 * the boot task or the next read encrypts them, else enabling the key would
 * strand every existing session. Built without a config (tests, tools), it
 * writes whatever it is given.
 */
@Injectable()
export class AuthStateRepository {
  private readonly requireEncrypted: boolean;
  /** setKeys calls not yet written, in call order, and the loop writing them (null when idle). */
  private readonly keyWrites: Array<{ sessionId: string; writes: AuthKeyWrite[]; resolve: () => void; reject: (error: unknown) => void }> = [];
  private keyWriter: Promise<void> | null = null;

  constructor(
    private readonly prisma: PrismaService,
    @Optional() @Inject(APP_CONFIG) config?: Pick<AppConfig, 'AUTH_STATE_KEY'>,
  ) {
    this.requireEncrypted = Boolean(config?.AUTH_STATE_KEY);
  }

  async loadCreds(sessionId: string): Promise<string | null> {
    const row = await this.prisma.authCreds.findUnique({ where: { sessionId }, select: { data: true } });
    return row?.data ?? null;
  }

  async saveCreds(sessionId: string, data: string): Promise<void> {
    this.assertWritable([data]);
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
   * Writes a session's key changes (value null deletes). Calls are written in
   * call order, one transaction at a time, and the calls made while one is
   * being written (of any session: every send of every session changes its
   * Signal session key) share the next transaction: sends on many sessions at
   * once cost one statement per batch instead of one each. Order matters (a
   * later value of a key must never be overwritten by an earlier one), hence
   * one writer. A failed transaction rejects every call in it.
   */
  async setKeys(sessionId: string, writes: AuthKeyWrite[]): Promise<void> {
    this.assertWritable(writes.flatMap((w) => (w.value === null ? [] : [w.value])));
    return new Promise((resolve, reject) => {
      this.keyWrites.push({ sessionId, writes, resolve, reject });
      // The loop never rejects (each outcome goes to its callers) and ends when nothing waits.
      this.keyWriter ??= this.writeQueuedKeys();
    });
  }

  private async writeQueuedKeys(): Promise<void> {
    try {
      // Calls of this turn of the event loop go together.
      await new Promise((resolve) => setImmediate(resolve));
      while (this.keyWrites.length) {
        const batch = this.keyWrites.splice(0, KEY_WRITE_CALLS_PER_TRANSACTION);
        try {
          await this.writeKeys(batch);
          for (const call of batch) call.resolve();
        } catch (error) {
          for (const call of batch) call.reject(error);
        }
      }
    } finally {
      this.keyWriter = null;
    }
  }

  /**
   * One transaction for a batch of calls: each key's last write wins
   * (PostgreSQL rejects an upsert that touches the same row twice in one
   * statement); upserts as batched `INSERT ... ON CONFLICT DO UPDATE`, deletes
   * as one DELETE.
   */
  private async writeKeys(calls: Array<{ sessionId: string; writes: AuthKeyWrite[] }>): Promise<void> {
    const last = new Map<string, { sessionId: string; write: AuthKeyWrite }>();
    for (const { sessionId, writes } of calls) {
      for (const write of writes) last.set(`${sessionId}\u0000${write.type}\u0000${write.id}`, { sessionId, write });
    }
    const finals = [...last.values()];
    const upserts = finals.filter((f) => f.write.value !== null);
    const deletes = finals.filter((f) => f.write.value === null);
    const statements = [];
    for (let i = 0; i < upserts.length; i += UPSERT_BATCH) {
      const batch = upserts.slice(i, i + UPSERT_BATCH);
      statements.push(this.prisma.$executeRaw`
        INSERT INTO "AuthKey" ("sessionId", "type", "keyId", "value")
        SELECT t.session_id, t.type, t.key_id, t.value
        FROM unnest(${batch.map((f) => f.sessionId)}::uuid[], ${batch.map((f) => f.write.type)}::text[], ${batch.map((f) => f.write.id)}::text[],
          ${batch.map((f) => f.write.value as string)}::text[]) AS t(session_id, type, key_id, value)
        ON CONFLICT ("sessionId", "type", "keyId") DO UPDATE SET "value" = EXCLUDED."value"`);
    }
    if (deletes.length) {
      statements.push(this.prisma.$executeRaw`
        DELETE FROM "AuthKey" k
        USING unnest(${deletes.map((f) => f.sessionId)}::uuid[], ${deletes.map((f) => f.write.type)}::text[], ${deletes.map((f) => f.write.id)}::text[]) AS t(session_id, type, key_id)
        WHERE k."sessionId" = t.session_id AND k."type" = t.type AND k."keyId" = t.key_id`);
    }
    if (statements.length === 1) await statements[0];
    else if (statements.length) await this.prisma.$transaction(statements);
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

  /**
   * Compare-and-set of creds, across sessions: each row is updated only if its
   * value is still `from`, so creds written meanwhile (a newer write wins) are
   * never overwritten with older ones. One UPDATE per 1000 rows. Returns the
   * number of rows updated.
   */
  async replaceCreds(replacements: AuthCredsReplacement[]): Promise<number> {
    this.assertWritable(replacements.map((r) => r.to));
    let updated = 0;
    for (let i = 0; i < replacements.length; i += UPSERT_BATCH) {
      const batch = replacements.slice(i, i + UPSERT_BATCH);
      // Raw SQL skips Prisma's @updatedAt: set it here, in UTC as Prisma stores a timestamp without time zone.
      updated += await this.prisma.$executeRaw`
        UPDATE "AuthCreds" AS c SET "data" = t.to_value, "updatedAt" = now() AT TIME ZONE 'UTC'
        FROM unnest(${batch.map((r) => r.sessionId)}::uuid[], ${batch.map((r) => r.from)}::text[], ${batch.map((r) => r.to)}::text[])
          AS t(session_id, from_value, to_value)
        WHERE c."sessionId" = t.session_id AND c."data" = t.from_value`;
    }
    return updated;
  }

  /**
   * Compare-and-set of many key values, across sessions: each row is updated
   * only if its value is still `from`, so a value written meanwhile (by the
   * session itself or another replica) is never overwritten with an older
   * one. One UPDATE per 1000 rows. Returns the number of rows updated.
   */
  async replaceKeys(replacements: AuthKeyReplacement[]): Promise<number> {
    this.assertWritable(replacements.map((r) => r.to));
    let updated = 0;
    for (let i = 0; i < replacements.length; i += UPSERT_BATCH) {
      const batch = replacements.slice(i, i + UPSERT_BATCH);
      updated += await this.prisma.$executeRaw`
        UPDATE "AuthKey" AS k SET "value" = t.to_value
        FROM unnest(${batch.map((r) => r.sessionId)}::uuid[], ${batch.map((r) => r.type)}::text[], ${batch.map((r) => r.id)}::text[],
                    ${batch.map((r) => r.from)}::text[], ${batch.map((r) => r.to)}::text[])
          AS t(session_id, type, key_id, from_value, to_value)
        WHERE k."sessionId" = t.session_id AND k."type" = t.type AND k."keyId" = t.key_id AND k."value" = t.from_value`;
    }
    return updated;
  }

  /**
   * A page of creds rows whose value does not start with `currentPrefix` (plain
   * text, older formats, other keys), in session id order after `after`.
   * Keyset pagination: rows that stay as they are (unreadable) are not read again.
   */
  async findCredsNotPrefixed(currentPrefix: string, after: string | null, limit: number): Promise<Array<{ sessionId: string; data: string }>> {
    // startsWith becomes LIKE: fine, the prefix (enc:v2:<hex>:) holds no wildcard.
    return this.prisma.authCreds.findMany({
      where: { NOT: { data: { startsWith: currentPrefix } }, ...(after ? { sessionId: { gt: after } } : {}) },
      orderBy: { sessionId: 'asc' },
      take: limit,
      select: { sessionId: true, data: true },
    });
  }

  /** Like findCredsNotPrefixed for key rows, in primary-key order after `after` (one indexed range scan per page). */
  async findKeysNotPrefixed(currentPrefix: string, after: AuthKeyCursor | null, limit: number): Promise<StoredAuthKey[]> {
    const afterCursor = after
      ? Prisma.sql`AND ("sessionId", "type", "keyId") > (${after.sessionId}::uuid, ${after.type}, ${after.keyId})`
      : Prisma.empty;
    return this.prisma.$queryRaw<StoredAuthKey[]>`
      SELECT "sessionId"::text AS "sessionId", "type", "keyId", "value" FROM "AuthKey"
      WHERE NOT starts_with("value", ${currentPrefix}) ${afterCursor}
      ORDER BY "sessionId", "type", "keyId"
      LIMIT ${limit}`;
  }

  private assertWritable(values: string[]): void {
    if (!this.requireEncrypted) return;
    if (values.some((value) => !isSealedAuthValue(value))) {
      // Never name the value: it is a secret.
      throw new UnencryptedAuthWriteError('refusing to write auth state that is not encrypted while AUTH_STATE_KEY is set');
    }
  }
}
