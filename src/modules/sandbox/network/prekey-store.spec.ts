import type { BinaryNode } from '@whiskeysockets/baileys';
import { child, childrenByTag, contentBytes } from './binary-node';
import { PreKeyStore } from './prekey-store';

function upload(ids: number[], identityFill = 1): BinaryNode {
  const id3 = (n: number) => Buffer.from([(n >> 16) & 255, (n >> 8) & 255, n & 255]);
  return {
    tag: 'iq',
    attrs: { xmlns: 'encrypt', type: 'set' },
    content: [
      { tag: 'registration', attrs: {}, content: Buffer.from([0, 0, 4, 210]) },
      { tag: 'type', attrs: {}, content: Buffer.from([5]) },
      { tag: 'identity', attrs: {}, content: Buffer.alloc(32, identityFill) },
      { tag: 'list', attrs: {}, content: ids.map((n) => ({ tag: 'key', attrs: {}, content: [{ tag: 'id', attrs: {}, content: id3(n) }, { tag: 'value', attrs: {}, content: Buffer.alloc(32, n) }] })) },
      { tag: 'skey', attrs: {}, content: [{ tag: 'id', attrs: {}, content: id3(1) }] },
    ],
  };
}

const keyId = (bundle: BinaryNode[]) => contentBytes(child({ tag: 'x', attrs: {}, content: bundle.find((n) => n.tag === 'key')?.content as BinaryNode[] }, 'id'))?.readUIntBE(0, 3);

describe('pre-key store', () => {
  it('hands out each one-time pre-key once, in upload order, with the identity material', () => {
    const store = PreKeyStore.fromUpload(upload([1, 2, 3]))!;
    expect(store.remaining).toBe(3);
    const bundle = store.takeBundle();
    expect(bundle.map((n) => n.tag)).toEqual(['registration', 'type', 'identity', 'skey', 'key']);
    expect(keyId(bundle)).toBe(1);
    expect(keyId(store.takeBundle())).toBe(2);
    expect(keyId(store.takeBundle())).toBe(3);
    expect(store.remaining).toBe(0);
    // Exhausted: a bundle without a one-time key (valid Signal).
    expect(store.takeBundle().map((n) => n.tag)).toEqual(['registration', 'type', 'identity', 'skey']);
  });

  it('adds re-uploaded keys after the remaining ones and takes new identity material', () => {
    const store = PreKeyStore.fromUpload(upload([1, 2]))!;
    store.takeBundle();
    store.update(upload([10, 11], 9));
    expect(store.remaining).toBe(3);
    expect([keyId(store.takeBundle()), keyId(store.takeBundle()), keyId(store.takeBundle())]).toEqual([2, 10, 11]);
    expect(store.identityKey).toEqual(Buffer.alloc(32, 9));
  });

  it('stays correct when it compacts after many fetches (812 keys, as Baileys uploads)', () => {
    const ids = Array.from({ length: 812 }, (_, i) => i + 1);
    const store = PreKeyStore.fromUpload(upload(ids))!;
    for (let i = 1; i <= 812; i++) expect(keyId(store.takeBundle())).toBe(i);
    expect(store.remaining).toBe(0);
  });

  it('needs registration, identity and signed pre-key', () => {
    const partial = upload([1]);
    partial.content = (partial.content as BinaryNode[]).filter((n) => n.tag !== 'identity');
    expect(PreKeyStore.fromUpload(partial)).toBeNull();
    expect(childrenByTag(upload([1, 2]), 'list')).toHaveLength(1);
  });
});
