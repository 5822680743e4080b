import { randomBytes } from 'node:crypto';
import { parseConfig } from '../../config';
import { generateWebhookSecret, isWebhookSecret, webhookSecretKey } from './webhook-secret';

const b64 = (bytes: number) => randomBytes(bytes).toString('base64');

/** Secrets on both sides of every rule. */
const VALID = [`whsec_${b64(24)}`, `whsec_${b64(32)}`, `whsec_${b64(33)}`, `whsec_${b64(64)}`, 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'];
const INVALID = [
  '',
  'whsec_',
  b64(32), // no prefix
  `WHSEC_${b64(32)}`,
  `whsec ${b64(32)}`,
  `whsec_${b64(23)}`, // too short
  `whsec_${b64(65)}`, // too long
  `whsec_${b64(32).replace(/=+$/, '')}`, // padding dropped
  'whsec_MfKQ9r8GKYqrTwjU-D8ILPZIo2LaLaSw_fKQ9r8GKYqr', // base64url alphabet
  `whsec_${b64(32)}\n`,
  `whsec_${b64(32)} `,
];

describe('webhook secrets', () => {
  it('are generated as whsec_ + base64 of 32 random bytes (44 characters)', () => {
    const secret = generateWebhookSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(webhookSecretKey(secret)).toHaveLength(32);
    expect(generateWebhookSecret()).not.toBe(secret);
  });

  it('accepts the standardwebhooks format with 24 to 64 bytes', () => {
    for (const secret of VALID) expect({ secret, ok: isWebhookSecret(secret) }).toEqual({ secret, ok: true });
    expect(webhookSecretKey(`whsec_${Buffer.alloc(24, 1).toString('base64')}`)).toEqual(Buffer.alloc(24, 1));
  });

  it('refuses anything else', () => {
    for (const secret of INVALID) expect({ secret, ok: isWebhookSecret(secret) }).toEqual({ secret, ok: false });
    expect(isWebhookSecret(42)).toBe(false);
    expect(isWebhookSecret(null)).toBe(false);
    // Non-canonical base64 (the last character carries bits that decoding drops).
    expect(isWebhookSecret(`whsec_${Buffer.alloc(32, 7).toString('base64').replace(/c=$/, 'd=')}`)).toBe(false);
  });

  it('WEBHOOK_SECRET follows exactly the same rule (the config schema repeats it)', () => {
    const base = { DATABASE_URL: 'postgresql://x@h/db', REDIS_URL: 'redis://h', API_KEY: 'test-api-key-0123456789abcdef' };
    const configAccepts = (secret: string) => {
      try {
        return parseConfig({ ...base, WEBHOOK_SECRET: secret }).WEBHOOK_SECRET === secret;
      } catch {
        return false;
      }
    };
    for (const secret of [...VALID, ...INVALID.filter(Boolean), `whsec_${Buffer.alloc(32, 7).toString('base64').replace(/c=$/, 'd=')}`]) {
      expect({ secret, config: configAccepts(secret) }).toEqual({ secret, config: isWebhookSecret(secret) });
    }
  });
});
