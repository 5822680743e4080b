import { randomBytes } from 'node:crypto';

/** Standard Webhooks secrets: `whsec_` + base64 of the HMAC key. */
export const WEBHOOK_SECRET_PREFIX = 'whsec_';
/** Bytes of a generated secret's key. */
export const GENERATED_SECRET_BYTES = 32;
export const MIN_SECRET_BYTES = 24;
export const MAX_SECRET_BYTES = 64;
export const WEBHOOK_SECRET_RULE = `whsec_ followed by the base64 of ${MIN_SECRET_BYTES} to ${MAX_SECRET_BYTES} bytes (standardwebhooks format)`;

/** A new secret: `whsec_` + base64 of 32 random bytes (44 characters). */
export function generateWebhookSecret(): string {
  return `${WEBHOOK_SECRET_PREFIX}${randomBytes(GENERATED_SECRET_BYTES).toString('base64')}`;
}

/**
 * The HMAC key of a well-formed secret (the base64-decoded part after
 * `whsec_`), or null when `value` is not one: standard base64 with padding,
 * canonical (re-encoding gives the same text), 24 to 64 bytes.
 */
export function webhookSecretKey(value: unknown): Buffer | null {
  if (typeof value !== 'string' || !value.startsWith(WEBHOOK_SECRET_PREFIX)) return null;
  const encoded = value.slice(WEBHOOK_SECRET_PREFIX.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded) || encoded.length % 4 !== 0) return null;
  const key = Buffer.from(encoded, 'base64');
  if (key.length < MIN_SECRET_BYTES || key.length > MAX_SECRET_BYTES || key.toString('base64') !== encoded) return null;
  return key;
}

export function isWebhookSecret(value: unknown): value is string {
  return webhookSecretKey(value) !== null;
}
