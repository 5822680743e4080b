import { KeyedAead, atRestKeys } from '../../infra/crypto/keyed-aead';

/** A stored webhook secret cannot be read back: missing or wrong AUTH_STATE_KEY, tampered, or moved from another webhook. */
export class WebhookSecretDecryptError extends Error {
  override readonly name = 'WebhookSecretDecryptError';
}

/**
 * Webhook secrets at rest: AES-256-GCM under the auth-state key
 * (AUTH_STATE_KEY, with AUTH_STATE_KEY_PREVIOUS during a rotation), the same
 * implementation as the auth state (infra/crypto/keyed-aead.ts), bound to the
 * webhook (associated data: "zaphub-webhook-secret", the key id and the
 * webhook id). The current and the previous secret of a webhook share that
 * binding, so a rotation moves the stored value as it is. Without
 * AUTH_STATE_KEY secrets are stored as plain text.
 */
export class WebhookSecretCipher extends KeyedAead<string> {
  constructor(current: Buffer | null, previous: Buffer | null = null) {
    super(current, previous, {
      subject: 'webhook secret',
      keyNames: { current: 'AUTH_STATE_KEY', previous: 'AUTH_STATE_KEY_PREVIOUS' },
      error: WebhookSecretDecryptError,
      movedHint: 'a secret moved from another webhook',
      associatedData: (kid, webhookId) => Buffer.from(JSON.stringify(['zaphub-webhook-secret', 1, kid, webhookId]), 'utf8'),
    });
  }

  static fromConfig(current: string | undefined, previous?: string): WebhookSecretCipher {
    const keys = atRestKeys(current, previous);
    return new WebhookSecretCipher(keys.current, keys.previous);
  }
}

/** Injection token of the process's WebhookSecretCipher (built from AUTH_STATE_KEY / AUTH_STATE_KEY_PREVIOUS). */
export const WEBHOOK_SECRET_CIPHER = Symbol('WEBHOOK_SECRET_CIPHER');
