import asyncHooks, { AsyncLocalStorage, executionAsyncResource } from 'node:async_hooks';
import { captureAsyncLocalStorages, enableOnlyDuringTransactions } from './async-local-storage-tracker';

/** How many AsyncLocalStorage instances Node propagates to every new async resource (Node < 24). */
function enabledStorages(): Promise<number> {
  return new Promise((resolve) =>
    setImmediate(() => resolve(Object.getOwnPropertySymbols(executionAsyncResource()).filter((s) => s.description === 'kResourceStore').length)),
  );
}

describe('captureAsyncLocalStorages', () => {
  it('returns the storages constructed inside (looked up at call time, as Baileys does), and only those', () => {
    const outside = new asyncHooks.AsyncLocalStorage();
    const { value, storages } = captureAsyncLocalStorages(() => {
      const a = new asyncHooks.AsyncLocalStorage<number>();
      const b = new asyncHooks.AsyncLocalStorage<string>();
      return [a, b];
    });
    expect(storages).toEqual(value);
    expect(storages).not.toContain(outside);
    expect(captureAsyncLocalStorages(() => 1).storages).toEqual([]);
    // Constructed after the capture ended: not recorded anywhere.
    const later = new asyncHooks.AsyncLocalStorage();
    expect(later).toBeInstanceOf(AsyncLocalStorage);
  });

  it('nested captures each get their own storages', () => {
    const outer = captureAsyncLocalStorages(() => {
      const first = new asyncHooks.AsyncLocalStorage();
      const inner = captureAsyncLocalStorages(() => new asyncHooks.AsyncLocalStorage());
      const last = new asyncHooks.AsyncLocalStorage();
      return { first, inner, last };
    });
    expect(outer.value.inner.storages).toEqual([outer.value.inner.value]);
    expect(outer.storages).toEqual([outer.value.first, outer.value.last]);
  });

  it('captured storages work as usual and disable() takes them out of every new async resource', async () => {
    const baseline = await enabledStorages();
    const { value: storage } = captureAsyncLocalStorages(() => new asyncHooks.AsyncLocalStorage<string>());
    const seen = await storage.run('inside', async () => {
      await new Promise((resolve) => setImmediate(resolve));
      return storage.getStore();
    });
    expect(seen).toBe('inside');
    if (Number(process.versions.node.split('.')[0]) < 24) expect(await enabledStorages()).toBe(baseline + 1);
    storage.disable();
    expect(await enabledStorages()).toBe(baseline);
  });
});

describe('enableOnlyDuringTransactions', () => {
  const countable = Number(process.versions.node.split('.')[0]) < 24;

  /** A key store shaped like Baileys' addTransactionCapability: the context lives in an AsyncLocalStorage during transaction(). */
  function transactionalKeys() {
    const { value: storage } = captureAsyncLocalStorages(() => new asyncHooks.AsyncLocalStorage<{ name: string }>());
    const keys = {
      current: () => storage.getStore()?.name,
      transaction(work: () => Promise<unknown>, name: string) {
        if (storage.getStore()) return work(); // nested: reuse the context
        return storage.run({ name }, work);
      },
    };
    return { keys, storage };
  }
  const tick = () => new Promise((resolve) => setImmediate(resolve));

  it('the context is there inside every transaction, and the storage is off once none runs', async () => {
    const baseline = await enabledStorages();
    const { keys, storage } = transactionalKeys();
    enableOnlyDuringTransactions(keys, [storage]);

    const seen: Array<string | undefined> = [];
    await keys.transaction(async () => {
      await tick();
      seen.push(keys.current());
      await keys.transaction(async () => {
        await tick();
        seen.push(keys.current()); // nested
      }, 'inner');
      seen.push(keys.current());
    }, 'outer');
    expect(seen).toEqual(['outer', 'outer', 'outer']);
    expect(keys.current()).toBeUndefined();
    expect(await enabledStorages()).toBe(baseline);
  });

  it('concurrent transactions keep it on until the last one ends', async () => {
    const baseline = await enabledStorages();
    const { keys, storage } = transactionalKeys();
    enableOnlyDuringTransactions(keys, [storage]);
    let releaseSlow!: () => void;
    const slowGate = new Promise<void>((resolve) => (releaseSlow = resolve));
    const slow = keys.transaction(async () => {
      await slowGate;
      await tick();
      return keys.current();
    }, 'slow');
    await keys.transaction(async () => {
      await tick();
    }, 'fast');
    if (countable) expect(await enabledStorages()).toBe(baseline + 1); // slow still runs
    releaseSlow();
    expect(await slow).toBe('slow');
    expect(await enabledStorages()).toBe(baseline);
    // And it comes back for the next transaction.
    expect(await keys.transaction(async () => keys.current(), 'again')).toBe('again');
    expect(await enabledStorages()).toBe(baseline);
  });

  it('a failing transaction still turns it off and rethrows', async () => {
    const baseline = await enabledStorages();
    const { keys, storage } = transactionalKeys();
    enableOnlyDuringTransactions(keys, [storage]);
    await expect(keys.transaction(() => Promise.reject(new Error('boom')), 'x')).rejects.toThrow('boom');
    expect(await enabledStorages()).toBe(baseline);
  });

  it('leaves objects without transaction() alone', () => {
    const keys = { get: () => undefined };
    enableOnlyDuringTransactions(keys, [new asyncHooks.AsyncLocalStorage()]);
    expect(Object.keys(keys)).toEqual(['get']);
  });
});
