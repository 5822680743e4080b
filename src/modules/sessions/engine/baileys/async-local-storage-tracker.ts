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
