import { Logger } from '@nestjs/common';
import type { AuthStateStore } from '../engine/whatsapp-engine.port';
import { credsRow, keyRow, type AuthStateCipher } from './auth-state-cipher';
import type { AuthKeyReplacement, AuthStateRepository } from './auth-state.repository';

/** The repository methods the store needs (lets unit tests pass a fake). */
export type AuthStateRepositoryLike = Pick<
  AuthStateRepository,
  'loadCreds' | 'saveCreds' | 'getKeys' | 'setKeys' | 'clear' | 'replaceCreds' | 'replaceKeys'
>;

/** Where the store reports a failed re-encryption (a Nest Logger by default). */
export type AuthStateStoreLogger = Pick<Logger, 'error'>;

const defaultLogger = new Logger('AuthStateStore');

/**
 * The engine's AuthStateStore for one session, backed by PostgreSQL and
 * encrypted at rest when a key is configured. Every failure of a read
 * propagates: a read that fails (database down, wrong key) rejects, so the
 * engine fails the start instead of minting fresh credentials over a session
 * that exists.
 *
 * A value read in an outdated form (plain text while a key is set, enc:v1, or
 * under AUTH_STATE_KEY_PREVIOUS) is written back encrypted under the current
 * key before the read returns. That write is compare-and-set on the value
 * read, so it never overwrites a newer write, and it is best effort: the read
 * already succeeded and the old value stays readable, so a failure is logged
 * (and retried on the next read or boot) rather than failing the read.
 */
export function createAuthStateStore(
  repository: AuthStateRepositoryLike,
  cipher: AuthStateCipher,
  sessionId: string,
  logger: AuthStateStoreLogger = defaultLogger,
): AuthStateStore {
  async function rewrite(what: string, write: () => Promise<unknown>): Promise<void> {
    try {
      await write();
    } catch (error) {
      logger.error({ err: error, sessionId }, `re-encrypting ${what} under the current AUTH_STATE_KEY failed; it is retried on the next read`);
    }
  }

  return {
    async loadCreds() {
      const stored = await repository.loadCreds(sessionId);
      if (stored === null) return null;
      const row = credsRow(sessionId);
      const { plain, stale } = cipher.open(stored, row);
      if (stale) await rewrite('creds', () => repository.replaceCreds([{ sessionId, from: stored, to: cipher.encrypt(plain, row) }]));
      return plain;
    },
    async saveCreds(serialized) {
      await repository.saveCreds(sessionId, cipher.encrypt(serialized, credsRow(sessionId)));
    },
    async getKeys(type, ids) {
      const stored = await repository.getKeys(sessionId, type, ids);
      const result: Record<string, string> = {};
      const stale: AuthKeyReplacement[] = [];
      // Decrypt everything first: one value that cannot be read fails the whole read before anything is written.
      for (const [id, value] of Object.entries(stored)) {
        const row = keyRow(sessionId, type, id);
        const opened = cipher.open(value, row);
        result[id] = opened.plain;
        if (opened.stale) stale.push({ sessionId, type, id, from: value, to: cipher.encrypt(opened.plain, row) });
      }
      if (stale.length) await rewrite(`${stale.length} ${type} key(s)`, () => repository.replaceKeys(stale));
      return result;
    },
    async setKeys(entries) {
      await repository.setKeys(
        sessionId,
        entries.map((e) => ({ type: e.type, id: e.id, value: e.value === null ? null : cipher.encrypt(e.value, keyRow(sessionId, e.type, e.id)) })),
      );
    },
    async clear() {
      await repository.clear(sessionId);
    },
  };
}
