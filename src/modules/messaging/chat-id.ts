import { phoneDigits, PHONE_RULE } from '../../common/validation/phone-number';

/** `<digits>@s.whatsapp.net`, `<digits>-<digits>@g.us` (old groups) or `<digits>@g.us`, `<digits>@lid`. */
const JID = /^(\d{5,20})@s\.whatsapp\.net$|^(\d{5,25}(?:-\d{5,15})?)@g\.us$|^(\d{5,25})@lid$/;

export const CHAT_ID_RULE = `a phone number (${PHONE_RULE}) or a JID (<digits>@s.whatsapp.net, <id>@g.us, <id>@lid)`;

/**
 * The chat JID a message goes to, from what a client may write in `to`: a
 * phone number in any common format (`5511999998888`, `+55 11 99999-8888`),
 * or a JID (a user's `@s.whatsapp.net`, a group's `@g.us`, a hidden-number
 * `@lid`). Null when it is none of them. A user JID with a device suffix
 * (`:12`) is not a chat and is refused.
 */
export function toChatId(to: unknown): string | null {
  if (typeof to !== 'string') return null;
  const value = to.trim();
  if (value.includes('@')) return JID.test(value.toLowerCase()) ? value.toLowerCase() : null;
  const digits = phoneDigits(value);
  return digits ? `${digits}@s.whatsapp.net` : null;
}
