import asyncHooks, { type AsyncLocalStorage } from 'node:async_hooks';
import { syncBuiltinESMExports } from 'node:module';

/**
 * Baileys (rc14, `addTransactionCapability`) creates one AsyncLocalStorage per
 * socket and never disables it. On Node 20/22 an AsyncLocalStorage that has
 * been used stays, until `disable()`, in a process-wide list that every new
 * promise and async resource walks (each gets one property per storage): every
 * socket ever opened, each reconnect included, makes the whole process slower
 * and every promise bigger, for the life of the process. Measured with
 * `npm run bench:sessions`: restoring 500 sessions took 8 minutes, CPU-bound in
 * async_hooks' `_propagate`.
 *
 * `captureAsyncLocalStorages(fn)` returns the AsyncLocalStorage instances
 * constructed while `fn` runs (synchronously), so their owner can disable them
 * when it is done with them. It makes the `AsyncLocalStorage` export of
 * `node:async_hooks` (and, through `syncBuiltinESMExports`, the live ESM
 * bindings of its importers) a subclass that records its instances while a
 * capture is active; otherwise the subclass behaves exactly like its parent.
 */
export function captureAsyncLocalStorages<T>(fn: () => T): { value: T; storages: AsyncLocalStorage<unknown>[] } {
  const capture = tracker();
  const storages: AsyncLocalStorage<unknown>[] = [];
  const previous = capture.current;
  capture.current = storages;
  try {
    return { value: fn(), storages };
  } finally {
    capture.current = previous;
  }
}

/**
 * Keeps `storages` out of Node's process-wide list except while a transaction
 * of `keys` runs. Baileys only reads its AsyncLocalStorage inside
 * `keys.transaction(...)` (every caller, Baileys' own included, looks the
 * method up on this object), and a storage re-enables itself on its next
 * `run()`. Without this, each live socket's storage is walked by every promise
 * of the process once its first transaction ran: with N sessions, every
 * promise anywhere costs O(N).
 */
export function enableOnlyDuringTransactions(keys: object, storages: AsyncLocalStorage<unknown>[]): void {
  const store = keys as { transaction?: (work: () => Promise<unknown>, key: string) => Promise<unknown> };
  const transaction = store.transaction;
  if (typeof transaction !== 'function' || storages.length === 0) return;
  let active = 0;
  store.transaction = async (work, key) => {
    active++;
    try {
      return await transaction.call(keys, work, key);
    } finally {
      // Only once every transaction in flight (concurrent or nested) is done.
      if (--active === 0) for (const storage of storages) storage.disable();
    }
  };
}

interface Capture {
  current: AsyncLocalStorage<unknown>[] | null;
}

// Kept on the (process-wide) class itself, not in this module: a test runner may
// load several copies of this module in one process.
const CAPTURE = Symbol.for('zaphub.asyncLocalStorageCapture');

function tracker(): Capture {
  const Current = asyncHooks.AsyncLocalStorage as typeof AsyncLocalStorage & { [CAPTURE]?: Capture };
  const existing = Current[CAPTURE];
  if (existing) return existing;
  const capture: Capture = { current: null };
  class TrackedAsyncLocalStorage<S> extends Current<S> {
    constructor() {
      super();
      capture.current?.push(this as AsyncLocalStorage<unknown>);
    }
  }
  Object.defineProperty(TrackedAsyncLocalStorage, CAPTURE, { value: capture });
  (asyncHooks as { AsyncLocalStorage: typeof AsyncLocalStorage }).AsyncLocalStorage = TrackedAsyncLocalStorage;
  syncBuiltinESMExports();
  return capture;
}
