/**
 * The one rule for a phone number given in international format (pairing
 * codes today; the session service and the Baileys adapter use it too).
 *
 * Accepted: digits, optionally led by one `+`, with spaces, dashes and
 * parentheses anywhere between them ("+55 (11) 99999-8888"). What counts is
 * the digits, country code included, and there must be 7 to 15 of them:
 * - 15 is the maximum of E.164 (ITU-T E.164 §6: country code plus national
 *   number never exceed 15 digits), so anything longer cannot be a number.
 * - 7 is the shortest a WhatsApp number gets: the shortest national numbers in
 *   use (e.g. Niue, Saint Helena: 4-5 digits) come with a 3-digit country code,
 *   while 6 digits or fewer is always a typo or a national number without its
 *   country code, which WhatsApp would not find (and the pairing would fail
 *   only after the user typed the code on the phone).
 * Dots, letters, a `+` anywhere but at the start, or anything else is refused
 * rather than silently dropped.
 */
export const PHONE_MIN_DIGITS = 7;
export const PHONE_MAX_DIGITS = 15;

/** Human-readable form of the rule, for error messages. */
export const PHONE_RULE = `an international phone number: ${PHONE_MIN_DIGITS} to ${PHONE_MAX_DIGITS} digits with the country code, optionally with a leading +, spaces, dashes or parentheses`;

const SEPARATORS = /[ ()-]/g;
const DIGITS = new RegExp(`^\\d{${PHONE_MIN_DIGITS},${PHONE_MAX_DIGITS}}$`);

/** The digits of `input` when it is a valid phone number (see the rule above), else null. */
export function phoneDigits(input: string): string | null {
  if (typeof input !== 'string') return null;
  const trimmed = input.trim();
  const body = trimmed.startsWith('+') ? trimmed.slice(1) : trimmed;
  const digits = body.replace(SEPARATORS, '');
  return DIGITS.test(digits) ? digits : null;
}

/** Type guard for validators: a string that `phoneDigits` accepts. */
export function isPhoneNumber(value: unknown): value is string {
  return typeof value === 'string' && phoneDigits(value) !== null;
}
