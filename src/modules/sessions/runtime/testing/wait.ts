/**
 * Waiting on conditions instead of sleeping. Both helpers turn the event loop
 * with setImmediate (keep it real under jest fake timers:
 * `jest.useFakeTimers({ doNotFake: ['setImmediate', ...] })`), and bound the
 * wait by REAL time, captured before any test can fake Date.
 */
const realNow = Date.now.bind(Date);

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Resolves once `condition()` is true; fails with `label` after `timeoutMs` of real time. */
export async function until(condition: () => boolean, label: string | (() => string) = 'condition', timeoutMs = 2000): Promise<void> {
  const deadline = realNow() + timeoutMs;
  for (;;) {
    if (condition()) return;
    if (realNow() > deadline) throw new Error(`timed out waiting for ${typeof label === 'function' ? label() : label}`);
    await turn();
  }
}

/** Lets everything already queued run (promise chains, setImmediate callbacks), a few loop turns deep. */
export async function settle(turns = 10): Promise<void> {
  for (let i = 0; i < turns; i++) await turn();
}
