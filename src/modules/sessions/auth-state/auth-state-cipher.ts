import { KeyedAead, atRestKeys, decodeKey, isSealedValue, keyIdOf } from '../../../infra/crypto/keyed-aead';

export type { OpenedValue } from '../../../infra/crypto/keyed-aead';

/** Thrown when a stored auth value cannot be read back: missing or wrong key, tampered or moved data. */
export class AuthStateDecryptError extends Error {
  override readonly name = 'AuthStateDecryptError';
}

/**
 * The row a value is stored in. Its ciphertext is bound to it (AES-GCM
 * associated data), so a value copied into another row, type or session does
 * not decrypt. `id` is null for the session's creds row (AuthCreds), which no
 * key row (AuthKey, whose ids are strings) can be confused with.
 */
export interface AuthRow {
  sessionId: string;
  type: string;
  id: string | null;
}

export const CREDS_TYPE = 'creds';

export function credsRow(sessionId: string): AuthRow {
  return { sessionId, type: CREDS_TYPE, id: null };
}

export function keyRow(sessionId: string, type: string, id: string): AuthRow {
  return { sessionId, type, id };
}

/** AUTH_STATE_KEY as configured: 32 bytes as hex (64 characters) or base64 (44). */
export function decodeAuthStateKey(value: string): Buffer {
  return decodeKey(value);
}

/**
 * Names a key in stored values without revealing it (first 8 hex digits of
 * its SHA-256; see infra/crypto/keyed-aead.ts).
 */
export function authStateKeyId(key: Buffer): string {
  return keyIdOf(key);
}

/** Whether `value` has the shape of a value this cipher writes (any key): what the repository accepts once a key is set. */
export function isSealedAuthValue(value: string): boolean {
  return isSealedValue(value);
}

/**
 * Encrypts auth-state strings at rest with AES-256-GCM when AUTH_STATE_KEY is
 * set (the generic cipher, infra/crypto/keyed-aead.ts). Format
 * `enc:v2:<kid>:<iv b64>:<tag b64>:<ciphertext b64>`: a fresh random 12-byte
 * IV per value, the key id of the key used, and the row (session, type, key
 * id) plus version and kid as associated data. Without a key, values are
 * stored as plain text.
 *
 * Reading also accepts what earlier setups wrote, and says it is stale so the
 * caller writes it again under the current key: plain text (written before a
 * key was set), `enc:v1:<iv>:<tag>:<ct>` (no kid, no associated data; tried
 * with the current key, then the previous one) and v2 under
 * AUTH_STATE_KEY_PREVIOUS (rotation).
 *
 * Decrypting never guesses: an encrypted value read without the key, with
 * another key, or in another row throws instead of returning garbage (which
 * Baileys would otherwise treat as broken creds and replace).
 */
export class AuthStateCipher extends KeyedAead<AuthRow> {
  constructor(current: Buffer | null, previous: Buffer | null = null) {
    super(current, previous, {
      subject: 'auth state',
      keyNames: { current: 'AUTH_STATE_KEY', previous: 'AUTH_STATE_KEY_PREVIOUS' },
      error: AuthStateDecryptError,
      movedHint: 'a value moved from another row or session',
      associatedData,
      readV1: true,
    });
  }

  /** From the AUTH_STATE_KEY and AUTH_STATE_KEY_PREVIOUS config values (validated by the config schema). */
  static fromConfig(current: string | undefined, previous?: string): AuthStateCipher {
    const keys = atRestKeys(current, previous);
    return new AuthStateCipher(keys.current, keys.previous);
  }
}

/** The row, version and key id, unambiguously encoded (JSON array; `id` null for creds). */
function associatedData(kid: string, row: AuthRow): Buffer {
  return Buffer.from(JSON.stringify(['zaphub-auth-state', 2, kid, row.sessionId, row.type, row.id]), 'utf8');
}

/** Injection token of the process's AuthStateCipher (built from the config in auth-state.providers.ts). */
export const AUTH_STATE_CIPHER = Symbol('AUTH_STATE_CIPHER');
