import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { LocalDiskMediaStorage } from './local-disk-media-storage';
import { assertStorageKey, inboundMediaKey, MediaTooLargeError } from './media-storage';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const chunks = (data: Buffer, size = 1000) => Readable.from(Array.from({ length: Math.ceil(data.length / size) }, (_, i) => data.subarray(i * size, (i + 1) * size)));
const read = async (stream: Readable) => {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(part as Buffer);
  return Buffer.concat(parts);
};

describe('LocalDiskMediaStorage', () => {
  let dir: string;
  let storage: LocalDiskMediaStorage;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'zaphub-media-spec-'));
    storage = new LocalDiskMediaStorage(dir);
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('streams a file in, with its size and sha256, and reads it back', async () => {
    const data = Buffer.alloc(12_345, 7);
    const key = inboundMediaKey('5d3f0e52-9a0c-4c6a-8f57-2b0f3c9d1e11', 'a1b2c3d4-0000-4000-8000-000000000001');
    expect(await storage.write(key, chunks(data), 20_000)).toEqual({ size: data.length, sha256: sha256(data) });
    expect(await readFile(path.join(dir, ...key.split('/')))).toEqual(data);
    const file = await storage.open(key);
    expect(file!.size).toBe(data.length);
    expect(await read(file!.stream)).toEqual(data);
  });

  it('refuses a file larger than the limit and keeps nothing, not even a partial file', async () => {
    await expect(storage.write('inbound/s/too-big', chunks(Buffer.alloc(5001, 1)), 5000)).rejects.toBeInstanceOf(MediaTooLargeError);
    expect(await readdir(path.join(dir, 'inbound', 's'))).toEqual([]);
    expect(await storage.open('inbound/s/too-big')).toBeNull();
    // Exactly the limit is fine.
    expect((await storage.write('inbound/s/exact', chunks(Buffer.alloc(5000, 1)), 5000)).size).toBe(5000);
  });

  it('keeps no partial file when the source fails midway, and the previous file stays whole', async () => {
    await storage.write('inbound/s/f', chunks(Buffer.from('first version')), 100);
    async function* failing() {
      yield Buffer.from('half of a new');
      throw new Error('connection reset');
    }
    await expect(storage.write('inbound/s/f', Readable.from(failing()), 100)).rejects.toThrow('connection reset');
    expect(await readdir(path.join(dir, 'inbound', 's'))).toEqual(['f']);
    expect(await read((await storage.open('inbound/s/f'))!.stream)).toEqual(Buffer.from('first version'));
  });

  it('replaces a file written again, and deletes (a missing file is no error)', async () => {
    await storage.write('k', chunks(Buffer.from('one')), 10);
    await storage.write('k', chunks(Buffer.from('two')), 10);
    expect(await read((await storage.open('k'))!.stream)).toEqual(Buffer.from('two'));
    await storage.delete('k');
    await storage.delete('k');
    expect(await storage.open('k')).toBeNull();
  });

  it('refuses keys that could leave the directory', async () => {
    for (const key of ['../x', 'a/../../x', '/etc/passwd', 'a//b', '', '.hidden', 'a/./b', 'a\\b']) {
      expect(() => assertStorageKey(key)).toThrow(/invalid media storage key/);
      await expect(storage.open(key)).rejects.toThrow(/invalid media storage key/);
    }
    expect(() => assertStorageKey('inbound/5d3f0e52-9a0c/a1b2.c3')).not.toThrow();
  });
});
