import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const PREFIX = 'enc:v1:';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** Thrown when a stored auth value cannot be read back: missing or wrong key, or tampered data. */
export class AuthStateDecryptError extends Error {
  override readonly name = 'AuthStateDecryptError';
}

/**
 * Encrypts auth-state strings at rest with AES-256-GCM when AUTH_STATE_KEY is
 * set (a fresh random 12-byte IV per value; format
 * `enc:v1:<iv b64>:<tag b64>:<ciphertext b64>`). Without a key, values are
 * stored as plain text. Decrypting never guesses: an encrypted value read
 * without the key, or with another key, throws instead of returning garbage
 * (which Baileys would otherwise treat as broken creds and replace).
 */
export class AuthStateCipher {
  private readonly key: Buffer | null;

  constructor(key: Buffer | null) {
    if (key && key.length !== 32) throw new Error('AUTH_STATE_KEY must be 32 bytes');
    this.key = key;
  }

  /** From the AUTH_STATE_KEY config value: 32 bytes as base64 (44 chars) or hex (64 chars). */
  static fromConfig(value: string | undefined): AuthStateCipher {
    if (!value) return new AuthStateCipher(null);
    const key = /^[0-9a-fA-F]{64}$/.test(value) ? Buffer.from(value, 'hex') : Buffer.from(value, 'base64');
    return new AuthStateCipher(key);
  }

  get encrypts(): boolean {
    return this.key !== null;
  }

  encrypt(plain: string): string {
    if (!this.key) return plain;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const ciphertext = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return `${PREFIX}${iv.toString('base64')}:${cipher.getAuthTag().toString('base64')}:${ciphertext.toString('base64')}`;
  }

  decrypt(stored: string): string {
    if (!stored.startsWith(PREFIX)) {
      // Plain values stay readable after a key is configured, so enabling
      // encryption does not strand existing sessions; they are re-encrypted on
      // their next write.
      return stored;
    }
    if (!this.key) {
      throw new AuthStateDecryptError('auth state is encrypted but AUTH_STATE_KEY is not set');
    }
    const parts = stored.slice(PREFIX.length).split(':');
    if (parts.length !== 3) throw new AuthStateDecryptError('auth state value is malformed');
    const [iv, tag, ciphertext] = parts.map((p) => Buffer.from(p, 'base64'));
    if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw new AuthStateDecryptError('auth state value is malformed');
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, iv);
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
    } catch {
      throw new AuthStateDecryptError('auth state cannot be decrypted: wrong AUTH_STATE_KEY or corrupted data');
    }
  }
}
