import { parseByteRange } from './byte-range';

describe('parseByteRange', () => {
  it.each([
    ['bytes=0-9', { start: 0, end: 9 }],
    ['bytes=16-', { start: 16, end: 99 }],
    ['bytes=90-200', { start: 90, end: 99 }],
    ['bytes=-10', { start: 90, end: 99 }],
    ['bytes=-500', { start: 0, end: 99 }],
    [' bytes=5-5 ', { start: 5, end: 5 }],
  ])('%s of 100 bytes -> %j', (header, expected) => {
    expect(parseByteRange(header, 100)).toEqual(expected);
  });

  it.each([undefined, '', 'bytes=', 'bytes=-', 'items=0-1', 'bytes=0-1,5-6', 'bytes=9-3', 'bytes=a-b'])('serves the whole file for %j', (header) => {
    expect(parseByteRange(header, 100)).toBeNull();
  });

  it('answers unsatisfiable for a start past the end', () => {
    expect(parseByteRange('bytes=100-', 100)).toBe('unsatisfiable');
    expect(parseByteRange('bytes=-0', 100)).toBe('unsatisfiable');
    expect(parseByteRange('bytes=0-', 0)).toBe('unsatisfiable');
  });
});
