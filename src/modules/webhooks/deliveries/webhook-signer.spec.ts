import { Webhook } from 'standardwebhooks';
import { generateWebhookSecret, webhookSecretKey } from '../webhook-secret';
import { signatureHeader } from './webhook-signer';

/** Verification is the standardwebhooks library's, not ours: a receiver uses it. */
function verifies(secret: string, headers: Record<string, string>, body: string): boolean {
  try {
    new Webhook(secret).verify(body, headers);
    return true;
  } catch {
    return false;
  }
}

describe('signatureHeader', () => {
  const body = JSON.stringify({ id: 'evt_1', event: 'session.status', data: { status: 'WORKING' } });
  const now = Math.floor(Date.now() / 1000);

  it('signs so the standardwebhooks library verifies it, and nothing else', () => {
    const secret = generateWebhookSecret();
    const headers = { 'webhook-id': 'evt_1', 'webhook-timestamp': String(now), 'webhook-signature': signatureHeader([webhookSecretKey(secret)!], 'evt_1', now, body) };
    expect(verifies(secret, headers, body)).toBe(true);
    expect(verifies(secret, headers, body.replace('WORKING', 'STOPPED'))).toBe(false);
    expect(verifies(generateWebhookSecret(), headers, body)).toBe(false);
    expect(verifies(secret, { ...headers, 'webhook-id': 'evt_2' }, body)).toBe(false);
  });

  it('refuses an old timestamp (the library allows 5 minutes of skew)', () => {
    const secret = generateWebhookSecret();
    const old = now - 600;
    const headers = { 'webhook-id': 'evt_1', 'webhook-timestamp': String(old), 'webhook-signature': signatureHeader([webhookSecretKey(secret)!], 'evt_1', old, body) };
    expect(verifies(secret, headers, body)).toBe(false);
  });

  it('carries one signature per key during a rotation: either secret verifies', () => {
    const [current, previous] = [generateWebhookSecret(), generateWebhookSecret()];
    const header = signatureHeader([webhookSecretKey(current)!, webhookSecretKey(previous)!], 'evt_1', now, body);
    expect(header.split(' ')).toHaveLength(2);
    const headers = { 'webhook-id': 'evt_1', 'webhook-timestamp': String(now), 'webhook-signature': header };
    expect(verifies(current, headers, body)).toBe(true);
    expect(verifies(previous, headers, body)).toBe(true);
    expect(verifies(generateWebhookSecret(), headers, body)).toBe(false);
  });
});
