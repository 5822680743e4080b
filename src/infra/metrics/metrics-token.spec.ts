import * as crypto from 'node:crypto';
import { bearerTokenMatches } from './metrics-token';

jest.mock('node:crypto', () => {
  const actual = jest.requireActual<typeof import('node:crypto')>('node:crypto');
  return { ...actual, timingSafeEqual: jest.fn(actual.timingSafeEqual) };
});
const timingSafeEqual = crypto.timingSafeEqual as jest.MockedFunction<typeof crypto.timingSafeEqual>;

describe('bearerTokenMatches', () => {
  const token = 'scrape-token-0123456789';

  beforeEach(() => timingSafeEqual.mockClear());

  it('accepts exactly "Bearer <token>"', () => {
    expect(bearerTokenMatches(`Bearer ${token}`, token)).toBe(true);
  });

  it.each([
    ['no header', undefined],
    ['an empty header', ''],
    ['the token without the scheme', token],
    ['a longer token', `Bearer ${token}x`],
    ['a shorter token', `Bearer ${token.slice(0, -1)}`],
    ['a token differing in case', `Bearer ${token.toUpperCase()}`],
    ['another scheme', `Basic ${token}`],
  ])('refuses %s', (_label, header) => {
    expect(bearerTokenMatches(header, token)).toBe(false);
  });

  it('compares equal-length digests in constant time whatever the length presented', () => {
    for (const header of ['B', `Bearer ${token}`, `Bearer ${token}${'x'.repeat(500)}`]) bearerTokenMatches(header, token);
    expect(timingSafeEqual).toHaveBeenCalledTimes(3);
    for (const [a, b] of timingSafeEqual.mock.calls) {
      expect((a as Buffer).length).toBe(32);
      expect((b as Buffer).length).toBe(32);
    }
  });
});
