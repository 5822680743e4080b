import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

const V1 = 'enc:v1:';
const V2 = 'enc:v2:';
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Every key is 32 bytes (AES-256). */
export const KEY_BYTES = 32;
const B64 = '[A-Za-z0-9+/]+={0,2}';
/** The whole shape of a current-format value (any key). */
const V2_FORMAT = new RegExp(`^enc:v2:[0-9a-f]{8}:${B64}:${B64}:(?:${B64})?$`);

/** A 32-byte key as configured: hex (64 characters) or base64 (44). */
export function decodeKey(value: string): Buffer {
  return /^[0-9a-fA-F]{64}$/.test(value) ? Buffer.from(value, 'hex') : Buffer.from(value, 'base64');
}

/**
 * Names a key in stored values without revealing it: the first 8 hex digits of
 * its SHA-256 (32 bits of a hash of a 256-bit random key tell nothing usable).
 * It picks the key to decrypt with during a rotation, and lets an error say
 * which key a value needs.
 */
export function keyIdOf(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 8);
}

/** Whether `value` has the shape of a value KeyedAead writes (any key, any context). */
export function isSealedValue(value: string): boolean {
  return V2_FORMAT.test(value);
}

/** A value read back, and whether it should be written again under the current key. */
export interface OpenedValue {
  plain: string;
  /** Plain text while a key is set, enc:v1, or encrypted under the previous key. */
  stale: boolean;
}

export interface KeyedAeadOptions<Context> {
  /** What the values are, as error messages name them ("auth state", "webhook secret"). */
  subject: string;
  /** Names of the configured keys, as error messages name them. */
  keyNames: { current: string; previous: string };
  /** Thrown, with a message naming the problem, whenever a stored value cannot be read back. */
  error: new (message: string) => Error;
  /** Where a value that fails authentication may come from ("a value moved from another row or session"). */
  movedHint: string;
  /**
   * The associated data binding a value to where it is stored (a domain tag
   * first, then the key id and the location). Must encode its parts
   * unambiguously, e.g. as a JSON array.
   */
  associatedData(kid: string, context: Context): Buffer;
  /** Also read `enc:v1:<iv>:<tag>:<ct>` (no key id, no associated data) as stale: auth state of earlier releases. */
  readV1?: boolean;
}

interface NamedKey {
  key: Buffer;
  kid: string;
}

/**
 * AES-256-GCM for secrets at rest, with a current key and an optional previous
 * one (rotation). Format `enc:v2:<kid>:<iv b64>:<tag b64>:<ciphertext b64>`: a
 * fresh random 12-byte IV per value, the key id of the key used, and
 * associated data binding the value to its place (`associatedData`), so a
 * value copied elsewhere does not decrypt. Without a key, values are stored as
 * plain text.
 *
 * Reading also accepts what earlier setups wrote and says it is stale, so the
 * caller writes it again under the current key: plain text (written before a
 * key was set), v2 under the previous key, and (with `readV1`) enc:v1.
 *
 * Decrypting never guesses: an encrypted value read without the key, with
 * another key, or from another place throws `options.error` instead of
 * returning garbage.
 */
export class KeyedAead<Context> {
  private readonly current: NamedKey | null;
  private readonly previous: NamedKey | null;

  constructor(
    current: Buffer | null,
    previous: Buffer | null,
    private readonly options: KeyedAeadOptions<Context>,
  ) {
    const { keyNames } = options;
    if (current && current.length !== KEY_BYTES) throw new Error(`${keyNames.current} must be ${KEY_BYTES} bytes`);
    if (previous && previous.length !== KEY_BYTES) throw new Error(`${keyNames.previous} must be ${KEY_BYTES} bytes`);
    if (previous && !current) throw new Error(`${keyNames.previous} needs ${keyNames.current}`);
    this.current = current && { key: current, kid: keyIdOf(current) };
    // The same key given twice is simply the current one.
    this.previous = previous && !previous.equals(current!) ? { key: previous, kid: keyIdOf(previous) } : null;
  }

  get encrypts(): boolean {
    return this.current !== null;
  }

  /** Key id of the current key, or null without a key. */
  get currentKeyId(): string | null {
    return this.current?.kid ?? null;
  }

  /** The prefix every value written under the current key starts with (null without a key): values without it need re-encrypting. */
  get currentPrefix(): string | null {
    return this.current ? `${V2}${this.current.kid}:` : null;
  }

  encrypt(plain: string, context: Context): string {
    if (!this.current) return plain;
    const { key, kid } = this.current;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(this.options.associatedData(kid, context));
    const ciphertext = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return `${V2}${kid}:${iv.toString('base64')}:${cipher.getAuthTag().toString('base64')}:${ciphertext.toString('base64')}`;
  }

  decrypt(stored: string, context: Context): string {
    return this.open(stored, context).plain;
  }

  /** Decrypts `stored`, read from `context`, and says whether it should be re-encrypted under the current key. */
  open(stored: string, context: Context): OpenedValue {
    const { subject, keyNames } = this.options;
    if (!stored.startsWith('enc:')) {
      // Plain values stay readable after a key is configured, so enabling
      // encryption strands nothing; they are stale, and the caller encrypts them.
      return { plain: stored, stale: this.current !== null };
    }
    if (!this.current) throw this.fail(`${subject} is encrypted but ${keyNames.current} is not set`);
    if (this.options.readV1 && stored.startsWith(V1)) return { plain: this.openV1(stored), stale: true };
    if (stored.startsWith(V2)) return this.openV2(stored, context);
    throw this.fail(`${subject} value is malformed (unknown format)`);
  }

  private openV1(stored: string): string {
    const { subject, keyNames } = this.options;
    const parts = stored.slice(V1.length).split(':');
    if (parts.length !== 3) throw this.fail(`${subject} value is malformed`);
    const [iv, tag, ciphertext] = parts.map((p) => Buffer.from(p, 'base64'));
    this.checkSizes(iv, tag);
    for (const candidate of [this.current, this.previous]) {
      if (!candidate) continue;
      const plain = tryDecrypt(candidate.key, iv, tag, ciphertext, null);
      if (plain !== null) return plain;
    }
    // v1 names no key: the key is wrong, or the data was altered.
    throw this.fail(`${subject} cannot be decrypted: wrong ${keyNames.current}${this.previous ? ` and ${keyNames.previous}` : ''} or corrupted data`);
  }

  private openV2(stored: string, context: Context): OpenedValue {
    const { subject, keyNames } = this.options;
    const parts = stored.slice(V2.length).split(':');
    if (parts.length !== 4 || !/^[0-9a-f]{8}$/.test(parts[0])) throw this.fail(`${subject} value is malformed`);
    const [kid, ...rest] = parts;
    const [iv, tag, ciphertext] = rest.map((p) => Buffer.from(p, 'base64'));
    this.checkSizes(iv, tag);
    const current = this.current!;
    const named = kid === current.kid ? current : kid === this.previous?.kid ? this.previous : null;
    if (!named) {
      const configured = `${keyNames.current} is ${current.kid}${this.previous ? `, ${keyNames.previous} is ${this.previous.kid}` : ''}`;
      throw this.fail(
        `${subject} was encrypted with another key (key id ${kid}; ${configured}): wrong ${keyNames.current}, or set the key it was written with as ${keyNames.previous}`,
      );
    }
    const plain = tryDecrypt(named.key, iv, tag, ciphertext, this.options.associatedData(kid, context));
    if (plain === null) throw this.fail(`${subject} cannot be decrypted: corrupted data, or ${this.options.movedHint}`);
    return { plain, stale: named !== current };
  }

  private checkSizes(iv: Buffer, tag: Buffer): void {
    if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw this.fail(`${this.options.subject} value is malformed`);
  }

  private fail(message: string): Error {
    return new this.options.error(message);
  }
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

/** The at-rest keys as configured (AUTH_STATE_KEY, AUTH_STATE_KEY_PREVIOUS; validated by the config schema), decoded. */
export function atRestKeys(current: string | undefined, previous?: string): { current: Buffer | null; previous: Buffer | null } {
  return { current: current ? decodeKey(current) : null, previous: previous ? decodeKey(previous) : null };
}
