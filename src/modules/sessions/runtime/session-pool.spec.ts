import { SessionPool } from './session-pool';

describe('SessionPool', () => {
  it('hands out at most max slots and frees them', () => {
    const pool = new SessionPool(2);
    expect(pool.tryOccupy('a')).toBe(true);
    expect(pool.tryOccupy('a')).toBe(true);
    expect(pool.tryOccupy('b')).toBe(true);
    expect(pool.tryOccupy('c')).toBe(false);
    expect(pool.free).toBe(0);
    expect(pool.release('a')).toBe(true);
    expect(pool.tryOccupy('c')).toBe(true);
    expect(pool.active).toBe(2);
  });
});
