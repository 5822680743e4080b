import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import {
  AuthStateCipher,
  AuthStateDecryptError,
  authStateKeyId,
  credsRow,
  decodeAuthStateKey,
  isSealedAuthValue,
  keyRow,
} from './auth-state-cipher';

/** What the previous release wrote: `enc:v1:<iv>:<tag>:<ct>`, no key id, no associated data. */
function encryptV1(key: Buffer, plain: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const ct = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return `enc:v1:${iv.toString('base64')}:${cipher.getAuthTag().toString('base64')}:${ct.toString('base64')}`;
}

describe('AuthStateCipher', () => {
  const keyB64 = randomBytes(32).toString('base64');
  const key = Buffer.from(keyB64, 'base64');
  const kid = createHash('sha256').update(key).digest('hex').slice(0, 8);
  const value = JSON.stringify({ noiseKey: { private: { type: 'Buffer', data: 'AAEC' } }, me: null });
  const row = keyRow('2f0e8a4c-5b7d-4e21-9a3f-1c6d8b0e4f7a', 'session', '5511999998888.0');
  const creds = credsRow(row.sessionId);

  it('stores plain text when no key is configured', () => {
    const cipher = AuthStateCipher.fromConfig(undefined);
    expect(cipher.encrypts).toBe(false);
    expect(cipher.currentPrefix).toBeNull();
    expect(cipher.encrypt(value, row)).toBe(value);
    expect(cipher.open(value, row)).toEqual({ plain: value, stale: false });
  });

  it('round-trips with a base64 key in the v2 format carrying the key id, and hides the plaintext', () => {
    const cipher = AuthStateCipher.fromConfig(keyB64);
    const stored = cipher.encrypt(value, row);
    expect(stored).toMatch(new RegExp(`^enc:v2:${kid}:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$`));
    expect(cipher.currentKeyId).toBe(kid);
    expect(authStateKeyId(key)).toBe(kid);
    expect(stored.startsWith(cipher.currentPrefix!)).toBe(true);
    expect(isSealedAuthValue(stored)).toBe(true);
    expect(stored).not.toContain('noiseKey');
    expect(cipher.open(stored, row)).toEqual({ plain: value, stale: false });
    expect(cipher.decrypt(cipher.encrypt('', creds), creds)).toBe('');
  });

  it('accepts the same key as hex', () => {
    const hex = key.toString('hex');
    expect(decodeAuthStateKey(hex)).toEqual(key);
    const stored = AuthStateCipher.fromConfig(keyB64).encrypt(value, row);
    expect(AuthStateCipher.fromConfig(hex).decrypt(stored, row)).toBe(value);
  });

  it('uses a fresh IV for every value', () => {
    const cipher = AuthStateCipher.fromConfig(keyB64);
    expect(cipher.encrypt(value, row)).not.toBe(cipher.encrypt(value, row));
  });

  describe('binds each value to its row', () => {
    const cipher = AuthStateCipher.fromConfig(keyB64);
    const stored = cipher.encrypt(value, row);

    it.each([
      ['another session', keyRow('7d1c3b9e-0a2f-4c68-8e5d-3f9b1a7c2e40', row.type, row.id!)],
      ['another type', keyRow(row.sessionId, 'sender-key', row.id!)],
      ['another key id', keyRow(row.sessionId, row.type, '5511999998888.1')],
      ['the creds row of the same session', creds],
    ])('a value moved to %s does not decrypt', (_label, elsewhere) => {
      expect(() => cipher.open(stored, elsewhere)).toThrow(AuthStateDecryptError);
      expect(() => cipher.open(stored, elsewhere)).toThrow('auth state cannot be decrypted: corrupted data, or a value moved from another row or session');
    });

    it('creds moved to another session, or into a key row, do not decrypt', () => {
      const storedCreds = cipher.encrypt(value, creds);
      expect(cipher.decrypt(storedCreds, creds)).toBe(value);
      expect(() => cipher.open(storedCreds, credsRow('7d1c3b9e-0a2f-4c68-8e5d-3f9b1a7c2e40'))).toThrow(/moved from another row/);
      // A key row with type "creds" and an empty id is still not the creds row.
      expect(() => cipher.open(storedCreds, keyRow(row.sessionId, 'creds', ''))).toThrow(/moved from another row/);
    });
  });

  describe('key rotation', () => {
    const oldKey = randomBytes(32).toString('base64');
    const newKey = randomBytes(32).toString('hex');
    const before = AuthStateCipher.fromConfig(oldKey);
    const after = AuthStateCipher.fromConfig(newKey, oldKey);

    it('decrypts values of the previous key and says they are stale; re-encrypted, they carry the current key id', () => {
      const stored = before.encrypt(value, row);
      expect(stored.startsWith(`enc:v2:${before.currentKeyId}:`)).toBe(true);
      const opened = after.open(stored, row);
      expect(opened).toEqual({ plain: value, stale: true });
      const again = after.encrypt(opened.plain, row);
      expect(again.startsWith(`enc:v2:${after.currentKeyId}:`)).toBe(true);
      expect(after.currentKeyId).not.toBe(before.currentKeyId);
      expect(after.open(again, row)).toEqual({ plain: value, stale: false });
      // the old key alone cannot read the re-encrypted value
      expect(() => before.open(again, row)).toThrow(/wrong AUTH_STATE_KEY/);
    });

    it('the previous key is still bound to the row', () => {
      const stored = before.encrypt(value, row);
      expect(() => after.open(stored, creds)).toThrow(/moved from another row/);
    });

    it('names both key ids when a value was written under neither', () => {
      const third = AuthStateCipher.fromConfig(randomBytes(32).toString('base64'));
      const stored = third.encrypt(value, row);
      expect(() => after.open(stored, row)).toThrow(
        `auth state was encrypted with another key (key id ${third.currentKeyId}; AUTH_STATE_KEY is ${after.currentKeyId}, AUTH_STATE_KEY_PREVIOUS is ${before.currentKeyId}): wrong AUTH_STATE_KEY, or set the key it was written with as AUTH_STATE_KEY_PREVIOUS`,
      );
    });

    it('treats a previous key equal to the current one as no previous key', () => {
      const same = AuthStateCipher.fromConfig(oldKey, oldKey);
      expect(same.open(before.encrypt(value, row), row)).toEqual({ plain: value, stale: false });
    });

    it('refuses a previous key without a current one', () => {
      expect(() => AuthStateCipher.fromConfig(undefined, oldKey)).toThrow(/AUTH_STATE_KEY_PREVIOUS needs AUTH_STATE_KEY/);
    });
  });

  describe('enc:v1 values of earlier releases', () => {
    it('are read with the current key, and are stale', () => {
      const stored = encryptV1(key, value);
      expect(AuthStateCipher.fromConfig(keyB64).open(stored, row)).toEqual({ plain: value, stale: true });
      // v1 carries no row binding: readable from whichever row it is in
      expect(AuthStateCipher.fromConfig(keyB64).open(stored, creds).plain).toBe(value);
    });

    it('are read with the previous key during a rotation', () => {
      const stored = encryptV1(key, value);
      const rotated = AuthStateCipher.fromConfig(randomBytes(32).toString('base64'), keyB64);
      expect(rotated.open(stored, row)).toEqual({ plain: value, stale: true });
      expect(rotated.encrypt(value, row).startsWith(rotated.currentPrefix!)).toBe(true);
    });

    it('fail clearly with a key that is neither', () => {
      const stored = encryptV1(key, value);
      expect(() => AuthStateCipher.fromConfig(randomBytes(32).toString('base64')).open(stored, row)).toThrow(
        'auth state cannot be decrypted: wrong AUTH_STATE_KEY or corrupted data',
      );
      expect(() => AuthStateCipher.fromConfig(randomBytes(32).toString('base64'), randomBytes(32).toString('base64')).open(stored, row)).toThrow(
        'auth state cannot be decrypted: wrong AUTH_STATE_KEY and AUTH_STATE_KEY_PREVIOUS or corrupted data',
      );
    });

    it('are not accepted as the current format for writing', () => {
      expect(isSealedAuthValue(encryptV1(key, value))).toBe(false);
    });
  });

  it('refuses to read an encrypted value without a key', () => {
    const cipher = AuthStateCipher.fromConfig(undefined);
    for (const stored of [AuthStateCipher.fromConfig(keyB64).encrypt(value, row), encryptV1(key, value)]) {
      expect(() => cipher.open(stored, row)).toThrow(AuthStateDecryptError);
      expect(() => cipher.open(stored, row)).toThrow(/AUTH_STATE_KEY is not set/);
    }
  });

  it('refuses to read with a wrong key, naming the key ids', () => {
    const stored = AuthStateCipher.fromConfig(keyB64).encrypt(value, row);
    const other = AuthStateCipher.fromConfig(randomBytes(32).toString('base64'));
    expect(() => other.open(stored, row)).toThrow(AuthStateDecryptError);
    expect(() => other.open(stored, row)).toThrow(
      `auth state was encrypted with another key (key id ${kid}; AUTH_STATE_KEY is ${other.currentKeyId}): wrong AUTH_STATE_KEY, or set the key it was written with as AUTH_STATE_KEY_PREVIOUS`,
    );
  });

  it('refuses tampered or malformed values', () => {
    const cipher = AuthStateCipher.fromConfig(keyB64);
    const stored = cipher.encrypt(value, row);
    const [, , k, iv, tag, data] = stored.split(':');
    const flipped = Buffer.from(data, 'base64');
    flipped[0] ^= 1;
    expect(() => cipher.open(`enc:v2:${k}:${iv}:${tag}:${flipped.toString('base64')}`, row)).toThrow(/corrupted data/);
    expect(() => cipher.open(`enc:v2:${k}:${iv}:${tag}`, row)).toThrow(/malformed/);
    expect(() => cipher.open(`enc:v2:${k}:${iv}:AAAA:${data}`, row)).toThrow(/malformed/);
    expect(() => cipher.open(`enc:v2:XYZ:${iv}:${tag}:${data}`, row)).toThrow(/malformed/);
    expect(() => cipher.open('enc:v1:abc', row)).toThrow(/malformed/);
    expect(() => cipher.open('enc:v9:abc', row)).toThrow(/unknown format/);
    for (const bad of ['plain', 'enc:v2:abc', `enc:v2:${k}:${iv}:${tag}:${data}\n`, `enc:v2:${k}0:${iv}:${tag}:${data}`]) {
      expect(isSealedAuthValue(bad)).toBe(false);
    }
  });

  it('still reads values written before a key was configured, and says they are stale', () => {
    expect(AuthStateCipher.fromConfig(keyB64).open(value, row)).toEqual({ plain: value, stale: true });
  });

  it('rejects keys of the wrong size', () => {
    expect(() => new AuthStateCipher(Buffer.alloc(16))).toThrow(/32 bytes/);
    expect(() => new AuthStateCipher(Buffer.alloc(32), Buffer.alloc(31))).toThrow(/AUTH_STATE_KEY_PREVIOUS must be 32 bytes/);
  });
});
