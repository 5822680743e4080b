import { PHONE_MAX_DIGITS, PHONE_MIN_DIGITS, isPhoneNumber, phoneDigits } from './phone-number';

describe('phoneDigits', () => {
  it.each([
    ['5511999998888', '5511999998888'],
    ['+5511999998888', '5511999998888'],
    ['+55 11 99999-8888', '5511999998888'],
    ['+55 (11) 99999-8888', '5511999998888'],
    ['  +1 555 0100 123  ', '15550100123'],
    ['1234567', '1234567'], // 7 digits: the shortest accepted
    ['123456789012345', '123456789012345'], // 15 digits: the E.164 maximum
    ['+1 (234) 567-890-12345', '123456789012345'],
  ])('accepts %j as %s', (input, digits) => {
    expect(phoneDigits(input)).toBe(digits);
    expect(isPhoneNumber(input)).toBe(true);
  });

  it.each([
    ['123456', 'six digits'],
    ['12 34 56', 'six digits with separators'],
    ['1234567890123456', 'sixteen digits'],
    ['+55 11 99999-8888 0000', 'seventeen digits with separators'],
    ['', 'empty'],
    ['+', 'a plus alone'],
    ['  ( ) - ', 'separators only'],
    ['abc', 'letters'],
    ['5511999998888x', 'a trailing letter'],
    ['55.11.99999.8888', 'dots'],
    ['55+11999998888', 'a plus inside'],
    ['++5511999998888', 'two pluses'],
    ['5511\t999998888', 'a tab'],
    ['５５１１９９９９９８８８８', 'full-width digits'],
    ['5511999998888@s.whatsapp.net', 'a JID'],
  ])('refuses %j (%s)', (input) => {
    expect(phoneDigits(input)).toBeNull();
    expect(isPhoneNumber(input)).toBe(false);
  });

  it('refuses what is not a string', () => {
    for (const value of [5511999998888, null, undefined, ['5511999998888'], { phone: '5511999998888' }]) {
      expect(phoneDigits(value as unknown as string)).toBeNull();
      expect(isPhoneNumber(value)).toBe(false);
    }
  });

  it('exports the bounds it applies', () => {
    expect([PHONE_MIN_DIGITS, PHONE_MAX_DIGITS]).toEqual([7, 15]);
    expect(phoneDigits('1'.repeat(PHONE_MIN_DIGITS - 1))).toBeNull();
    expect(phoneDigits('1'.repeat(PHONE_MAX_DIGITS + 1))).toBeNull();
  });
});
