import asyncHooks, { AsyncLocalStorage, executionAsyncResource } from 'node:async_hooks';
import { captureAsyncLocalStorages } from './async-local-storage-tracker';

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
