import { formatQr, parseQr, QR_PREFIX, QrParseError } from './qr-code';

const key = (fill: number) => Buffer.alloc(32, fill);
const b64 = (b: Buffer) => b.toString('base64');

describe('QR strings', () => {
  const valid = `${QR_PREFIX}2@abc+/def==,${b64(key(1))},${b64(key(2))},${b64(key(3))},1`;

  it('parses ref, keys, adv secret and platform', () => {
    const qr = parseQr(valid);
    expect(qr.ref).toBe('2@abc+/def==');
    expect(qr.noiseKey).toEqual(key(1));
    expect(qr.identityKey).toEqual(key(2));
    expect(qr.advSecret).toEqual(key(3));
    expect(qr.advSecretB64).toBe(b64(key(3)));
    expect(qr.platform).toBe('1');
  });

  it('round-trips through formatQr', () => {
    const qr = parseQr(valid);
    expect(formatQr({ ...qr, advSecretB64: qr.advSecretB64 })).toBe(valid);
  });

  it.each([
    ['another prefix', `https://example.com/#a,${b64(key(1))},${b64(key(2))},${b64(key(3))}`, /must start/],
    ['too few parts', `${QR_PREFIX}ref,${b64(key(1))}`, /separated by commas/],
    ['empty ref', `${QR_PREFIX},${b64(key(1))},${b64(key(2))},${b64(key(3))}`, /ref is empty/],
    ['non-base64 key', `${QR_PREFIX}r,not base64!,${b64(key(2))},${b64(key(3))}`, /noise key is not base64/],
    ['short key', `${QR_PREFIX}r,${b64(Buffer.alloc(16))},${b64(key(2))},${b64(key(3))}`, /noise key must be 32 bytes/],
    ['short adv secret', `${QR_PREFIX}r,${b64(key(1))},${b64(key(2))},${b64(Buffer.alloc(8))}`, /adv secret must be 32 bytes/],
  ])('rejects %s', (_, qr, message) => {
    expect(() => parseQr(qr)).toThrow(QrParseError);
    expect(() => parseQr(qr)).toThrow(message);
  });
});
