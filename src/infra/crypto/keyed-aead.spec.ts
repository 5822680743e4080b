import { randomBytes } from 'node:crypto';
import { KeyedAead, atRestKeys, decodeKey, isSealedValue, keyIdOf, type KeyedAeadOptions } from './keyed-aead';

class BoxError extends Error {
  override readonly name = 'BoxError';
}

/** A cipher for values bound to a "box" name, as a second user of the generic cipher would build it. */
function boxCipher(current: Buffer | null, previous: Buffer | null = null, extra: Partial<KeyedAeadOptions<string>> = {}) {
  return new KeyedAead<string>(current, previous, {
    subject: 'box',
    keyNames: { current: 'BOX_KEY', previous: 'BOX_KEY_PREVIOUS' },
    error: BoxError,
    movedHint: 'a value moved from another box',
    associatedData: (kid, box) => Buffer.from(JSON.stringify(['test-box', 1, kid, box])),
    ...extra,
  });
}

describe('KeyedAead (the one AES-256-GCM implementation for secrets at rest)', () => {
  const key = randomBytes(32);
  const other = randomBytes(32);

  it('round-trips in the enc:v2 format naming the key, with a fresh IV each time', () => {
    const cipher = boxCipher(key);
    const stored = cipher.encrypt('hello', 'a');
    expect(stored.startsWith(`enc:v2:${keyIdOf(key)}:`)).toBe(true);
    expect(stored.startsWith(cipher.currentPrefix!)).toBe(true);
    expect(isSealedValue(stored)).toBe(true);
    expect(stored).not.toContain('hello');
    expect(cipher.encrypt('hello', 'a')).not.toBe(stored);
    expect(cipher.open(stored, 'a')).toEqual({ plain: 'hello', stale: false });
  });

  it('binds a value to its context through the associated data', () => {
    const cipher = boxCipher(key);
    expect(() => cipher.open(cipher.encrypt('hello', 'a'), 'b')).toThrow(new BoxError('box cannot be decrypted: corrupted data, or a value moved from another box'));
  });

  it('keeps domains apart: the same key and context under another associated-data tag does not decrypt', () => {
    const stored = boxCipher(key).encrypt('hello', 'a');
    const otherDomain = boxCipher(key, null, { associatedData: (kid, box) => Buffer.from(JSON.stringify(['other-box', 1, kid, box])) });
    expect(() => otherDomain.open(stored, 'a')).toThrow(BoxError);
  });

  it('stores plain text without a key and reads plain text as stale once keyed', () => {
    expect(boxCipher(null).encrypt('hello', 'a')).toBe('hello');
    expect(boxCipher(null).encrypts).toBe(false);
    expect(boxCipher(key).open('hello', 'a')).toEqual({ plain: 'hello', stale: true });
  });

  it('reads values under the previous key as stale, and names the configured key ids for any other key', () => {
    const before = boxCipher(other);
    const after = boxCipher(key, other);
    expect(after.open(before.encrypt('hello', 'a'), 'a')).toEqual({ plain: 'hello', stale: true });
    const stranger = boxCipher(randomBytes(32));
    expect(() => after.open(stranger.encrypt('x', 'a'), 'a')).toThrow(
      `box was encrypted with another key (key id ${stranger.currentKeyId}; BOX_KEY is ${keyIdOf(key)}, BOX_KEY_PREVIOUS is ${keyIdOf(other)}): wrong BOX_KEY, or set the key it was written with as BOX_KEY_PREVIOUS`,
    );
  });

  it('errors name the subject and the keys of the user', () => {
    expect(() => boxCipher(null).open(boxCipher(key).encrypt('x', 'a'), 'a')).toThrow(new BoxError('box is encrypted but BOX_KEY is not set'));
    expect(() => boxCipher(key).open('enc:v9:x', 'a')).toThrow('box value is malformed (unknown format)');
    expect(() => new KeyedAead(Buffer.alloc(16), null, { ...boxOptions() })).toThrow('BOX_KEY must be 32 bytes');
    expect(() => new KeyedAead(null, key, { ...boxOptions() })).toThrow('BOX_KEY_PREVIOUS needs BOX_KEY');
  });

  it('reads enc:v1 only when asked to', () => {
    const v1 = 'enc:v1:AAAAAAAAAAAAAAAA:AAAAAAAAAAAAAAAAAAAAAA==:AAAA';
    expect(() => boxCipher(key).open(v1, 'a')).toThrow('box value is malformed (unknown format)');
    expect(() => boxCipher(key, null, { readV1: true }).open(v1, 'a')).toThrow('box cannot be decrypted: wrong BOX_KEY or corrupted data');
  });

  it('decodes configured keys in hex or base64', () => {
    expect(decodeKey(key.toString('hex'))).toEqual(key);
    expect(decodeKey(key.toString('base64'))).toEqual(key);
    expect(atRestKeys(undefined)).toEqual({ current: null, previous: null });
    expect(atRestKeys(key.toString('base64'), other.toString('hex'))).toEqual({ current: key, previous: other });
  });
});

function boxOptions(): KeyedAeadOptions<string> {
  return {
    subject: 'box',
    keyNames: { current: 'BOX_KEY', previous: 'BOX_KEY_PREVIOUS' },
    error: BoxError,
    movedHint: 'a value moved from another box',
    associatedData: (kid, box) => Buffer.from(JSON.stringify(['test-box', 1, kid, box])),
  };
}
