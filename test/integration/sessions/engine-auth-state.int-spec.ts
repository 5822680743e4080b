import { randomUUID } from 'node:crypto';
import { AuthStateRepository } from '../../../src/modules/sessions/auth-state/auth-state.repository';
import { PrismaService } from '../../../src/infra/prisma/prisma.service';
import { createTestEnv, type TestEnv } from '../../helpers/test-env';

describe('AuthStateRepository (PostgreSQL)', () => {
  let env: TestEnv;
  let prisma: PrismaService;
  let repo: AuthStateRepository;

  beforeAll(async () => {
    env = await createTestEnv();
    prisma = new PrismaService(env.config);
    repo = new AuthStateRepository(prisma);
  });
  afterAll(async () => {
    await prisma?.disconnect();
    await env?.cleanup();
  });

  const session = async (name: string) => (await prisma.session.create({ data: { name } })).id;

  it('upserts creds', async () => {
    const id = await session('creds');
    expect(await repo.loadCreds(id)).toBeNull();
    await repo.saveCreds(id, 'one');
    await repo.saveCreds(id, 'two');
    expect(await repo.loadCreds(id)).toBe('two');
  });

  it('writes keys in batches with last-write-wins, deletes nulls, and reads in one query', async () => {
    const id = await session('keys');
    const many = Array.from({ length: 2500 }, (_, i) => ({ type: 'pre-key', id: String(i), value: `v${i}` }));
    const started = Date.now();
    await repo.setKeys(id, many);
    const writeMs = Date.now() - started;
    expect(await repo.countKeys(id, 'pre-key')).toBe(2500);

    await repo.setKeys(id, [
      { type: 'pre-key', id: '1', value: 'first' },
      { type: 'pre-key', id: '1', value: 'second' },
      { type: 'pre-key', id: '2', value: null },
      { type: 'session', id: 'a.0', value: 's' },
      { type: 'pre-key', id: '3', value: 'x' },
      { type: 'pre-key', id: '3', value: null },
    ]);
    expect(await repo.getKeys(id, 'pre-key', ['1', '2', '3', '4', 'missing'])).toEqual({ 1: 'second', 4: 'v4' });
    expect(await repo.getKeys(id, 'session', ['a.0'])).toEqual({ 'a.0': 's' });
    expect(await repo.getKeys(id, 'session', [])).toEqual({});
    expect(await repo.countKeys(id)).toBe(2500 - 2 + 1);
    console.info(`2500 key upserts in one transaction: ${writeMs} ms`);
  });

  it('is atomic: when one statement fails, no write of the call lands', async () => {
    const id = await session('atomic');
    await repo.setKeys(id, [{ type: 'pre-key', id: 'keep', value: 'k' }]);
    // 1000 valid rows (first INSERT), then a value PostgreSQL rejects (NUL byte) in the second INSERT, then a delete.
    const writes = Array.from({ length: 1000 }, (_, i) => ({ type: 'pre-key', id: `n${i}`, value: 'ok' as string | null }));
    writes.push({ type: 'pre-key', id: 'bad', value: 'a\u0000b' }, { type: 'pre-key', id: 'keep', value: null });
    await expect(repo.setKeys(id, writes)).rejects.toThrow();
    expect(await repo.countKeys(id)).toBe(1);
    expect(await repo.getKeys(id, 'pre-key', ['keep'])).toEqual({ keep: 'k' });
    // and an unknown session id is refused by the foreign key
    await expect(repo.setKeys(randomUUID(), [{ type: 'pre-key', id: 'x', value: 'x' }])).rejects.toThrow();
  });

  it('writes concurrent calls of several sessions together, in call order: a later write of a key is never overwritten by an earlier one', async () => {
    const a = await session('batch-a');
    const b = await session('batch-b');
    const executed = jest.spyOn(prisma, '$executeRaw');
    // Calls made together, none awaited before the next: each key's last call must win.
    const calls = [
      repo.setKeys(a, [{ type: 'session', id: 'x', value: 'a1' }]),
      repo.setKeys(b, [{ type: 'session', id: 'x', value: 'b1' }]),
      repo.setKeys(a, [{ type: 'session', id: 'x', value: 'a2' }]),
      repo.setKeys(b, [{ type: 'pre-key', id: '7', value: 'p' }]),
      repo.setKeys(b, [{ type: 'pre-key', id: '7', value: null }]),
      repo.setKeys(a, [{ type: 'session', id: 'y', value: 'a3' }]),
    ];
    await Promise.all(calls);
    // One upsert and one delete for the six calls (a call at a time would be six statements).
    expect(executed).toHaveBeenCalledTimes(2);
    executed.mockRestore();
    expect(await repo.getKeys(a, 'session', ['x', 'y'])).toEqual({ x: 'a2', y: 'a3' });
    expect(await repo.getKeys(b, 'session', ['x'])).toEqual({ x: 'b1' });
    expect(await repo.getKeys(b, 'pre-key', ['7'])).toEqual({});
    // Calls made while a batch is being written go in the next one, after it.
    const first = repo.setKeys(a, [{ type: 'session', id: 'x', value: 'a4' }]);
    await new Promise((resolve) => setImmediate(resolve));
    const second = repo.setKeys(a, [{ type: 'session', id: 'x', value: 'a5' }]);
    await Promise.all([first, second]);
    expect(await repo.getKeys(a, 'session', ['x'])).toEqual({ x: 'a5' });
  });

  it('clears creds and keys of one session only', async () => {
    const a = await session('clear-a');
    const b = await session('clear-b');
    for (const id of [a, b]) {
      await repo.saveCreds(id, 'c');
      await repo.setKeys(id, [{ type: 'session', id: 'x', value: 'y' }]);
    }
    await repo.clear(a);
    expect(await repo.loadCreds(a)).toBeNull();
    expect(await repo.countKeys(a)).toBe(0);
    expect(await repo.loadCreds(b)).toBe('c');
    expect(await repo.countKeys(b)).toBe(1);
  });
});
