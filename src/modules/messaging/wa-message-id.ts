import { createHash } from 'node:crypto';

/**
 * The WhatsApp message id of an outbound ZapHub message, derived from its
 * ZapHub id: a resend after a crash (sent, but not recorded as sent) carries
 * the same id, and the recipient's phone drops the copy. Shaped like the ids
 * Baileys generates ("3EB0" + 18 upper-case hex digits).
 */
export function waMessageIdFor(messageId: string): string {
  return `3EB0${createHash('sha256').update(`zaphub:${messageId}`).digest('hex').slice(0, 18).toUpperCase()}`;
}
