import { createHash } from 'node:crypto';

/**
 * Phone numbers in the sandbox: digits only (a leading + is accepted on
 * input), 5 to 20 digits. Every such number is a WhatsApp user there.
 */
export const PHONE_PATTERN = /^\+?\d{5,20}$/;

export function isValidPhone(value: unknown): value is string {
  return typeof value === 'string' && PHONE_PATTERN.test(value);
}

/** Returns the digits of a valid phone number, or null. */
export function normalizePhone(value: unknown): string | null {
  return isValidPhone(value) ? value.replace(/^\+/, '') : null;
}

/**
 * A deterministic phone number for a session that paired without choosing
 * one: `1555` + 7 digits derived from the session name (`attempt` moves to
 * another number when that one is taken). 555 numbers are fictional.
 */
export function phoneForSession(sessionName: string, attempt = 0): string {
  const digest = createHash('sha256').update(`${sessionName}#${attempt}`).digest();
  return `1555${String(digest.readUInt32BE(0) % 10_000_000).padStart(7, '0')}`;
}
