import { isValidPhone, normalizePhone, phoneForSession } from './phone-number';

describe('phone numbers', () => {
  it('accepts 5 to 20 digits with an optional leading +', () => {
    expect(normalizePhone('+5511999998888')).toBe('5511999998888');
    expect(normalizePhone('12345')).toBe('12345');
    expect(isValidPhone('1'.repeat(20))).toBe(true);
  });

  it.each(['1234', '1'.repeat(21), '55 11 9999', '++551199', '55119999a', '', 5511999998888])('rejects %j', (value) => {
    expect(normalizePhone(value)).toBeNull();
  });

  it('derives a stable fictional number per session, another one per attempt', () => {
    expect(phoneForSession('alpha')).toBe(phoneForSession('alpha'));
    expect(phoneForSession('alpha')).toMatch(/^1555\d{7}$/);
    expect(phoneForSession('alpha')).not.toBe(phoneForSession('beta'));
    expect(phoneForSession('alpha', 1)).not.toBe(phoneForSession('alpha'));
  });
});
