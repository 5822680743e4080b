import { runInThisContext } from 'node:vm';
import { Registry } from 'prom-client';
import { MetricsRegistry } from '../infra/metrics/metrics.registry';
import { installUnhandledRejectionHandler, UNHANDLED_REJECTIONS_METRIC, type RejectionLogger } from './unhandled-rejections';

/**
 * Real unhandled rejections against the real process. Two things of Jest's
 * stand in the way and are moved aside for each test: the global `process` of
 * a test is a copy that Node never emits on (so the handler is installed on
 * the real process, read from Node's main context), and Jest listens on the
 * real process itself to fail a test that leaves a rejection unhandled (its
 * listeners are removed while a test runs and put back after, so only the
 * handler under test sees the rejection).
 */
const realProcess = runInThisContext('process') as NodeJS.Process;
type Listener = (...args: unknown[]) => void;

/** A logger that records what it got and lets a test await the next call. */
function recordingLogger() {
  const calls: Array<{ message: string; stack?: string }> = [];
  let wake: (() => void) | null = null;
  const logger: RejectionLogger & { calls: typeof calls; next(): Promise<void> } = {
    calls,
    error(message, stack) {
      calls.push({ message, stack });
      wake?.();
      wake = null;
    },
    next: () => new Promise<void>((resolve) => (wake = resolve)),
  };
  return logger;
}

async function counterValue(registry: Registry): Promise<number | undefined> {
  const metric = registry.getSingleMetric(UNHANDLED_REJECTIONS_METRIC);
  return (await metric?.get())?.values[0]?.value;
}

describe('installUnhandledRejectionHandler', () => {
  let jestListeners: Listener[];
  let uninstall: (() => void) | undefined;

  beforeEach(() => {
    jestListeners = realProcess.rawListeners('unhandledRejection') as Listener[];
    realProcess.removeAllListeners('unhandledRejection');
  });
  afterEach(() => {
    uninstall?.();
    uninstall = undefined;
    realProcess.removeAllListeners('unhandledRejection');
    for (const listener of jestListeners) realProcess.on('unhandledRejection', listener);
  });

  it('exports the counter at 0 on the app registry as soon as it is installed', async () => {
    const metrics = new MetricsRegistry();
    uninstall = installUnhandledRejectionHandler(metrics, recordingLogger(), { process: realProcess });
    const text = await metrics.registry.metrics();
    expect(text).toContain(`# HELP ${UNHANDLED_REJECTIONS_METRIC} Promise rejections that no code handled; each one is a bug\n`);
    expect(text).toContain(`# TYPE ${UNHANDLED_REJECTIONS_METRIC} counter\n`);
    expect(text).toMatch(new RegExp(`^${UNHANDLED_REJECTIONS_METRIC} 0$`, 'm'));
  });

  it('counts and logs (with the stack) a real unhandled rejection, and the process goes on', async () => {
    const registry = new Registry();
    const logger = recordingLogger();
    uninstall = installUnhandledRejectionHandler(registry, logger, { process: realProcess });
    // Only the handler under test listens: the count below cannot come from anyone else.
    expect(realProcess.listenerCount('unhandledRejection')).toBe(1);

    const logged = logger.next();
    // Deliberately left unhandled: that is the event under test.
    void Promise.reject(new Error('x'));
    await logged;

    expect(await counterValue(registry)).toBe(1);
    expect(logger.calls).toHaveLength(1);
    expect(logger.calls[0]!.message).toMatch(/^Unhandled promise rejection .*: x$/);
    expect(logger.calls[0]!.stack).toMatch(/^Error: x\n\s+at /);
    expect(logger.calls[0]!.stack).toContain('unhandled-rejections.spec.ts');

    // A reason that is not an Error is counted and logged too (no stack to show).
    const second = logger.next();
    void Promise.reject('plain string');
    await second;
    expect(await counterValue(registry)).toBe(2);
    expect(logger.calls[1]).toEqual({ message: expect.stringMatching(/: plain string$/), stack: undefined });
  });

  it('installs one handler however often it is called, and uninstalls it', async () => {
    const registry = new Registry();
    const logger = recordingLogger();
    const first = installUnhandledRejectionHandler(registry, logger, { process: realProcess });
    uninstall = first;
    const second = installUnhandledRejectionHandler(new Registry(), recordingLogger(), { process: realProcess });
    expect(second).toBe(first);
    expect(realProcess.listenerCount('unhandledRejection')).toBe(1);

    const logged = logger.next();
    void Promise.reject(new Error('counted once'));
    await logged;
    expect(await counterValue(registry)).toBe(1);

    first();
    expect(realProcess.listenerCount('unhandledRejection')).toBe(0);
    // Installing again after the uninstall works, on the same registry (its counter is reused, not registered twice).
    uninstall = installUnhandledRejectionHandler(registry, logger, { process: realProcess });
    expect(realProcess.listenerCount('unhandledRejection')).toBe(1);
    expect(await counterValue(registry)).toBe(1);
  });

  it('keeps counting when the logger throws', async () => {
    const registry = new Registry();
    let calls = 0;
    let wake: () => void = () => undefined;
    const thrown = new Promise<void>((resolve) => (wake = resolve));
    uninstall = installUnhandledRejectionHandler(
      registry,
      {
        error() {
          calls++;
          wake();
          throw new Error('logger down');
        },
      },
      { process: realProcess },
    );
    void Promise.reject(new Error('while the logger is down'));
    await thrown;
    expect(calls).toBe(1);
    expect(await counterValue(registry)).toBe(1);
  });
});
