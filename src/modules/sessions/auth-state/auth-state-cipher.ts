import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

const V1 = 'enc:v1:';
const V2 = 'enc:v2:';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
const B64 = '[A-Za-z0-9+/]+={0,2}';
/** The whole shape of a current-format value (the repository's write guard checks it). */
const V2_FORMAT = new RegExp(`^enc:v2:[0-9a-f]{8}:${B64}:${B64}:(?:${B64})?$`);

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

/** A value read back, and whether it should be written again under the current key. */
export interface OpenedValue {
  plain: string;
  /** Plain text while a key is set, enc:v1, or encrypted under AUTH_STATE_KEY_PREVIOUS. */
  stale: boolean;
}

/** AUTH_STATE_KEY as configured: 32 bytes as hex (64 characters) or base64 (44). */
export function decodeAuthStateKey(value: string): Buffer {
  return /^[0-9a-fA-F]{64}$/.test(value) ? Buffer.from(value, 'hex') : Buffer.from(value, 'base64');
}

/**
 * Names a key in stored values without revealing it: the first 8 hex digits of
 * its SHA-256 (32 bits of a hash of a 256-bit random key tell nothing usable).
 * It picks the key to decrypt with during a rotation, and lets an error say
 * which key a value needs.
 */
export function authStateKeyId(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 8);
}

/** Whether `value` has the shape of a value this cipher writes (any key): what the repository accepts once a key is set. */
export function isSealedAuthValue(value: string): boolean {
  return V2_FORMAT.test(value);
}

interface NamedKey {
  key: Buffer;
  kid: string;
}

/**
 * Encrypts auth-state strings at rest with AES-256-GCM when AUTH_STATE_KEY is
 * set. Format `enc:v2:<kid>:<iv b64>:<tag b64>:<ciphertext b64>`: a fresh
 * random 12-byte IV per value, the key id of the key used, and the row
 * (session, type, key id) plus version and kid as associated data. Without a
 * key, values are stored as plain text.
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
export class AuthStateCipher {
  private readonly current: NamedKey | null;
  private readonly previous: NamedKey | null;

  constructor(current: Buffer | null, previous: Buffer | null = null) {
    if (current && current.length !== KEY_BYTES) throw new Error('AUTH_STATE_KEY must be 32 bytes');
    if (previous && previous.length !== KEY_BYTES) throw new Error('AUTH_STATE_KEY_PREVIOUS must be 32 bytes');
    if (previous && !current) throw new Error('AUTH_STATE_KEY_PREVIOUS needs AUTH_STATE_KEY');
    this.current = current && { key: current, kid: authStateKeyId(current) };
    // The same key given twice is simply the current one.
    this.previous = previous && !previous.equals(current!) ? { key: previous, kid: authStateKeyId(previous) } : null;
  }

  /** From the AUTH_STATE_KEY and AUTH_STATE_KEY_PREVIOUS config values (validated by the config schema). */
  static fromConfig(current: string | undefined, previous?: string): AuthStateCipher {
    return new AuthStateCipher(current ? decodeAuthStateKey(current) : null, previous ? decodeAuthStateKey(previous) : null);
  }

  get encrypts(): boolean {
    return this.current !== null;
  }

  /** Key id of AUTH_STATE_KEY, or null without a key. */
  get currentKeyId(): string | null {
    return this.current?.kid ?? null;
  }

  /** The prefix every value written under the current key starts with (null without a key): values without it need re-encrypting. */
  get currentPrefix(): string | null {
    return this.current ? `${V2}${this.current.kid}:` : null;
  }

  encrypt(plain: string, row: AuthRow): string {
    if (!this.current) return plain;
    const { key, kid } = this.current;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(associatedData(kid, row));
    const ciphertext = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return `${V2}${kid}:${iv.toString('base64')}:${cipher.getAuthTag().toString('base64')}:${ciphertext.toString('base64')}`;
  }

  decrypt(stored: string, row: AuthRow): string {
    return this.open(stored, row).plain;
  }

  /** Decrypts `stored`, read from `row`, and says whether it should be re-encrypted under the current key. */
  open(stored: string, row: AuthRow): OpenedValue {
    if (!stored.startsWith('enc:')) {
      // Plain values stay readable after a key is configured, so enabling
      // encryption does not strand existing sessions; they are stale, and the
      // caller encrypts them (on read and by the boot task).
      return { plain: stored, stale: this.current !== null };
    }
    if (!this.current) throw new AuthStateDecryptError('auth state is encrypted but AUTH_STATE_KEY is not set');
    if (stored.startsWith(V1)) return { plain: this.openV1(stored), stale: true };
    if (stored.startsWith(V2)) return this.openV2(stored, row);
    throw new AuthStateDecryptError('auth state value is malformed (unknown format)');
  }

  private openV1(stored: string): string {
    const parts = stored.slice(V1.length).split(':');
    if (parts.length !== 3) throw new AuthStateDecryptError('auth state value is malformed');
    const [iv, tag, ciphertext] = parts.map((p) => Buffer.from(p, 'base64'));
    checkSizes(iv, tag);
    for (const candidate of [this.current, this.previous]) {
      if (!candidate) continue;
      const plain = tryDecrypt(candidate.key, iv, tag, ciphertext, null);
      if (plain !== null) return plain;
    }
    // v1 names no key: the key is wrong, or the data was altered.
    throw new AuthStateDecryptError(
      `auth state cannot be decrypted: wrong AUTH_STATE_KEY${this.previous ? ' and AUTH_STATE_KEY_PREVIOUS' : ''} or corrupted data`,
    );
  }

  private openV2(stored: string, row: AuthRow): OpenedValue {
    const parts = stored.slice(V2.length).split(':');
    if (parts.length !== 4 || !/^[0-9a-f]{8}$/.test(parts[0])) throw new AuthStateDecryptError('auth state value is malformed');
    const [kid, ...rest] = parts;
    const [iv, tag, ciphertext] = rest.map((p) => Buffer.from(p, 'base64'));
    checkSizes(iv, tag);
    const current = this.current!;
    const named = kid === current.kid ? current : kid === this.previous?.kid ? this.previous : null;
    if (!named) {
      const configured = `AUTH_STATE_KEY is ${current.kid}${this.previous ? `, AUTH_STATE_KEY_PREVIOUS is ${this.previous.kid}` : ''}`;
      throw new AuthStateDecryptError(
        `auth state was encrypted with another key (key id ${kid}; ${configured}): wrong AUTH_STATE_KEY, or set the key it was written with as AUTH_STATE_KEY_PREVIOUS`,
      );
    }
    const plain = tryDecrypt(named.key, iv, tag, ciphertext, associatedData(kid, row));
    if (plain === null) {
      throw new AuthStateDecryptError('auth state cannot be decrypted: corrupted data, or a value moved from another row or session');
    }
    return { plain, stale: named !== current };
  }
}

/** The row, version and key id, unambiguously encoded (JSON array; `id` null for creds). */
function associatedData(kid: string, row: AuthRow): Buffer {
  return Buffer.from(JSON.stringify(['zaphub-auth-state', 2, kid, row.sessionId, row.type, row.id]), 'utf8');
}

function checkSizes(iv: Buffer, tag: Buffer): void {
  if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw new AuthStateDecryptError('auth state value is malformed');
}

/** The plain text, or null when authentication fails (wrong key, altered data or associated data). */
function tryDecrypt(key: Buffer, iv: Buffer, tag: Buffer, ciphertext: Buffer, aad: Buffer | null): string | null {
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv);
    decipher.setAuthTag(tag);
    if (aad) decipher.setAAD(aad);
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
  } catch {
    return null;
  }
}

/** Injection token of the process's AuthStateCipher (built from the config in auth-state.providers.ts). */
export const AUTH_STATE_CIPHER = Symbol('AUTH_STATE_CIPHER');
