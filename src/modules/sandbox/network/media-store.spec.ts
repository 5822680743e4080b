import { MediaStore } from './media-store';

const bytes = (n: number, fill = 1) => Buffer.alloc(n, fill);

describe('MediaStore', () => {
  it('keeps files until the total would exceed maxBytes, then evicts the oldest first', () => {
    const store = new MediaStore(10);
    store.put('a', bytes(4), '/mms/image');
    store.put('b', bytes(4), '/mms/image');
    expect(store.bytes).toBe(8);
    store.put('c', bytes(4), '/mms/video');
    expect(store.get('a')).toBeUndefined();
    expect(store.get('b')?.bytes).toEqual(bytes(4));
    expect(store.get('c')?.kind).toBe('/mms/video');
    expect({ count: store.count, bytes: store.bytes, evicted: store.evicted }).toEqual({ count: 2, bytes: 8, evicted: 1 });

    store.put('d', bytes(10), '/mms/document');
    expect({ count: store.count, bytes: store.bytes, evicted: store.evicted }).toEqual({ count: 1, bytes: 10, evicted: 3 });
  });

  it('refuses a file larger than the whole store and keeps what it has', () => {
    const store = new MediaStore(10);
    store.put('a', bytes(5), '/mms/image');
    expect(() => store.put('big', bytes(11), '/mms/image')).toThrow(RangeError);
    expect(store.get('a')).toBeDefined();
    expect(store.bytes).toBe(5);
  });

  it('replaces a file stored again under the same id without counting it twice', () => {
    const store = new MediaStore(10);
    store.put('a', bytes(6, 1), '/mms/image');
    store.put('a', bytes(6, 2), '/mms/image');
    expect(store.get('a')?.bytes[0]).toBe(2);
    expect({ count: store.count, bytes: store.bytes, evicted: store.evicted }).toEqual({ count: 1, bytes: 6, evicted: 0 });
    store.delete('a');
    expect(store.bytes).toBe(0);
  });

  it('rejects a non-positive bound', () => {
    expect(() => new MediaStore(0)).toThrow(RangeError);
  });
});
