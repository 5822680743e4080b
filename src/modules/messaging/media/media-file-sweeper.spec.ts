import { mkdtemp, rm, utimes } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { BackgroundFailures } from '../../../infra/metrics/background-failures';
import type { RedisLockService } from '../../../infra/locks/redis-lock.service';
import type { InboundMediaRepository } from './inbound-media.repository';
import { LocalDiskMediaStorage } from './local-disk-media-storage';
import { MediaFileSweeper } from './media-file-sweeper';
import { inboundMediaKey, messageIdOfKey } from './media-storage';

const SESSION = '5d3f0e52-9a0c-4c6a-8f57-2b0f3c9d1e11';
const id = (n: number) => `a1b2c3d4-0000-4000-8000-${String(n).padStart(12, '0')}`;
const HOUR = 3600_000;

describe('MediaFileSweeper', () => {
  let dir: string;
  let storage: LocalDiskMediaStorage;
  const inUse = new Set<string>();
  const repository = { keysInUse: jest.fn(async (ids: string[]) => new Set([...inUse].filter((k) => ids.includes(messageIdOfKey(k)!)))) };

  const put = async (key: string, ageMs: number) => {
    await storage.write(key, Readable.from([Buffer.from(key)]), 1000);
    const at = new Date(Date.now() - ageMs);
    await utimes(path.join(dir, ...key.split('/')), at, at);
  };
  const keys = async () => {
    const found: string[] = [];
    for await (const file of storage.list('inbound')) found.push(file.key);
    return found.sort();
  };

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'zaphub-sweep-spec-'));
    storage = new LocalDiskMediaStorage(dir);
    inUse.clear();
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('deletes old files no Media row names, and keeps the used and the young ones', async () => {
    const used = inboundMediaKey(SESSION, id(1));
    const pruned = inboundMediaKey(SESSION, id(2));
    const young = inboundMediaKey(SESSION, id(3));
    const leftover = `${inboundMediaKey(SESSION, id(4))}.0a1b2c.part`;
    const stranger = `inbound/${SESSION}/notes`;
    inUse.add(used);
    await put(used, 2 * HOUR);
    await put(pruned, 2 * HOUR);
    await put(young, 60_000);
    await put(leftover, 2 * HOUR);
    await put(stranger, 2 * HOUR);
    await put(inboundMediaKey('6e4a1f63-0b1d-4d7b-9a68-3c1a4d0e2f22', id(5)), 2 * HOUR);

    const sweeper = new MediaFileSweeper(repository as unknown as InboundMediaRepository, storage, {} as RedisLockService, {} as BackgroundFailures);
    expect(await sweeper.sweep(HOUR)).toBe(4);
    expect(await keys()).toEqual([used, young].sort());
    expect(repository.keysInUse).toHaveBeenCalledTimes(1);
    // Nothing to do the second time.
    expect(await sweeper.sweep(HOUR)).toBe(0);
  });

  it('lists nothing (and deletes nothing) when no file was ever stored', async () => {
    const sweeper = new MediaFileSweeper(repository as unknown as InboundMediaRepository, storage, {} as RedisLockService, {} as BackgroundFailures);
    expect(await sweeper.sweep(0)).toBe(0);
  });

  it('reads the message id of a key', () => {
    expect(messageIdOfKey(inboundMediaKey(SESSION, id(7)))).toBe(id(7));
    expect(messageIdOfKey(`${inboundMediaKey(SESSION, id(7))}.ff00.part`)).toBe(id(7));
    expect(messageIdOfKey('inbound/x/notes')).toBeNull();
  });
});
