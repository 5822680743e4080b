import { randomBytes } from 'node:crypto';
import { AuthStateCipher, credsRow } from '../sessions/auth-state/auth-state-cipher';
import { WebhookSecretCipher, WebhookSecretDecryptError } from './webhook-secret-cipher';

describe('WebhookSecretCipher', () => {
  const key = randomBytes(32).toString('base64');
  const secret = `whsec_${randomBytes(32).toString('base64')}`;
  const id = '0b6f4a52-6c4e-4f7e-9d0a-3c2b1a0f9e8d';

  it('stores plain text without AUTH_STATE_KEY', () => {
    expect(WebhookSecretCipher.fromConfig(undefined).encrypt(secret, id)).toBe(secret);
  });

  it('encrypts under AUTH_STATE_KEY in the auth state format, bound to the webhook id', () => {
    const cipher = WebhookSecretCipher.fromConfig(key);
    const stored = cipher.encrypt(secret, id);
    expect(stored.startsWith(AuthStateCipher.fromConfig(key).currentPrefix!)).toBe(true);
    expect(stored).not.toContain(secret.slice(6, 20));
    expect(cipher.decrypt(stored, id)).toBe(secret);
    expect(() => cipher.decrypt(stored, '7d1c3b9e-0a2f-4c68-8e5d-3f9b1a7c2e40')).toThrow(
      new WebhookSecretDecryptError('webhook secret cannot be decrypted: corrupted data, or a secret moved from another webhook'),
    );
  });

  it('keeps webhook secrets and auth state apart under the same key', () => {
    const auth = AuthStateCipher.fromConfig(key);
    const webhook = WebhookSecretCipher.fromConfig(key);
    expect(() => webhook.decrypt(auth.encrypt(secret, credsRow(id)), id)).toThrow(WebhookSecretDecryptError);
    expect(() => auth.decrypt(webhook.encrypt(secret, id), credsRow(id))).toThrow(/auth state cannot be decrypted/);
  });

  it('reads secrets under AUTH_STATE_KEY_PREVIOUS as stale, and says which key is missing otherwise', () => {
    const old = randomBytes(32).toString('hex');
    const stored = WebhookSecretCipher.fromConfig(old).encrypt(secret, id);
    expect(WebhookSecretCipher.fromConfig(key, old).open(stored, id)).toEqual({ plain: secret, stale: true });
    expect(() => WebhookSecretCipher.fromConfig(key).open(stored, id)).toThrow(/^webhook secret was encrypted with another key .*AUTH_STATE_KEY_PREVIOUS$/);
    expect(() => WebhookSecretCipher.fromConfig(undefined).open(stored, id)).toThrow('webhook secret is encrypted but AUTH_STATE_KEY is not set');
  });
});
