import { uint64ToNumber } from './protobuf-number';

describe('uint64ToNumber', () => {
  it('reads protobuf uint64s (lengths, timestamps) as numbers (number, Long, string after JSON)', () => {
    expect(uint64ToNumber(42)).toBe(42);
    expect(uint64ToNumber('42')).toBe(42);
    expect(uint64ToNumber({ low: 5, high: 1, unsigned: true })).toBe(2 ** 32 + 5);
    expect(uint64ToNumber({ toNumber: () => 7 })).toBe(7);
    expect(uint64ToNumber(null)).toBeNull();
    expect(uint64ToNumber(-1)).toBeNull();
    expect(uint64ToNumber('x')).toBeNull();
  });
});
