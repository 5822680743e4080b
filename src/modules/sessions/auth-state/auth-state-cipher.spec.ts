import { randomBytes } from 'node:crypto';
import { AuthStateCipher, AuthStateDecryptError } from './auth-state-cipher';

describe('AuthStateCipher', () => {
  const keyB64 = randomBytes(32).toString('base64');
  const value = JSON.stringify({ noiseKey: { private: { type: 'Buffer', data: 'AAEC' } }, me: null });

  it('stores plain text when no key is configured', () => {
    const cipher = AuthStateCipher.fromConfig(undefined);
    expect(cipher.encrypts).toBe(false);
    expect(cipher.encrypt(value)).toBe(value);
    expect(cipher.decrypt(value)).toBe(value);
  });

  it('round-trips with a base64 key and hides the plaintext', () => {
    const cipher = AuthStateCipher.fromConfig(keyB64);
    const stored = cipher.encrypt(value);
    expect(stored).toMatch(/^enc:v1:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/);
    expect(stored).not.toContain('noiseKey');
    expect(cipher.decrypt(stored)).toBe(value);
  });

  it('accepts the same key as hex', () => {
    const hex = Buffer.from(keyB64, 'base64').toString('hex');
    const stored = AuthStateCipher.fromConfig(keyB64).encrypt(value);
    expect(AuthStateCipher.fromConfig(hex).decrypt(stored)).toBe(value);
  });

  it('uses a fresh IV for every value', () => {
    const cipher = AuthStateCipher.fromConfig(keyB64);
    expect(cipher.encrypt(value)).not.toBe(cipher.encrypt(value));
  });

  it('refuses to read an encrypted value without a key', () => {
    const stored = AuthStateCipher.fromConfig(keyB64).encrypt(value);
    expect(() => AuthStateCipher.fromConfig(undefined).decrypt(stored)).toThrow(AuthStateDecryptError);
    expect(() => AuthStateCipher.fromConfig(undefined).decrypt(stored)).toThrow(/AUTH_STATE_KEY is not set/);
  });

  it('refuses to read with a wrong key', () => {
    const stored = AuthStateCipher.fromConfig(keyB64).encrypt(value);
    const other = AuthStateCipher.fromConfig(randomBytes(32).toString('base64'));
    expect(() => other.decrypt(stored)).toThrow(/wrong AUTH_STATE_KEY/);
  });

  it('refuses tampered or malformed values', () => {
    const cipher = AuthStateCipher.fromConfig(keyB64);
    const stored = cipher.encrypt(value);
    const [iv, tag, data] = stored.slice('enc:v1:'.length).split(':');
    const flipped = Buffer.from(data, 'base64');
    flipped[0] ^= 1;
    expect(() => cipher.decrypt(`enc:v1:${iv}:${tag}:${flipped.toString('base64')}`)).toThrow(AuthStateDecryptError);
    expect(() => cipher.decrypt('enc:v1:abc')).toThrow(/malformed/);
  });

  it('still reads values written before a key was configured', () => {
    expect(AuthStateCipher.fromConfig(keyB64).decrypt(value)).toBe(value);
  });

  it('rejects keys of the wrong size', () => {
    expect(() => new AuthStateCipher(Buffer.alloc(16))).toThrow(/32 bytes/);
  });
});
