import { Counter, type Registry } from 'prom-client';

export const UNHANDLED_REJECTIONS_METRIC = 'zaphub_unhandled_rejections_total';

/** Where the counter goes: the app's MetricsRegistry or a prom-client Registry. */
export type RejectionMetricsTarget = Registry | { readonly registry: Registry };

/** Nest's Logger fits: `error(message, stack)` is the contract its loggers print a stack for. */
export interface RejectionLogger {
  error(message: string, stack?: string): void;
}

/** The part of `process` the handler needs. */
export type RejectionSource = Pick<NodeJS.Process, 'on' | 'off'>;

export interface UnhandledRejectionOptions {
  /**
   * The process to listen on (default: the global `process`). Inside Jest's
   * sandbox the global `process` is a copy that Node never emits on, so the
   * unit test passes the real one.
   */
  process?: RejectionSource;
}

interface Installation {
  uninstall: () => void;
}

// One handler per process object, whoever calls: a second install must not
// count (and log) every rejection twice.
const installations = new WeakMap<RejectionSource, Installation>();

/**
 * Registers one `unhandledRejection` handler on the process: it counts the
 * rejection in `zaphub_unhandled_rejections_total` and logs the reason at
 * error level with its stack. Having a handler also keeps the process
 * serving: without one, Node turns an unhandled rejection into an uncaught
 * exception and exits, taking every session of this process down for one
 * forgotten `catch`. The counter is created (at 0) now, so /metrics exports it
 * before the first rejection and an alert can use `increase()` on it.
 *
 * Idempotent: a second call installs nothing and returns the first call's
 * uninstall function (which removes the handler; the counter stays on its
 * registry).
 */
export function installUnhandledRejectionHandler(
  metrics: RejectionMetricsTarget,
  logger: RejectionLogger,
  options: UnhandledRejectionOptions = {},
): () => void {
  const source = options.process ?? process;
  const existing = installations.get(source);
  if (existing) return existing.uninstall;

  const counter = rejectionCounter('registry' in metrics ? metrics.registry : metrics);
  const handler = (reason: unknown): void => {
    counter.inc();
    try {
      const { message, stack } = describe(reason);
      logger.error(`Unhandled promise rejection (a bug: a promise was neither awaited nor caught): ${message}`, stack);
    } catch {
      // A failing logger must not turn the handler itself into a crash; the count above still tells.
    }
  };
  source.on('unhandledRejection', handler);
  const installation: Installation = {
    uninstall: () => {
      if (installations.get(source) !== installation) return;
      source.off('unhandledRejection', handler);
      installations.delete(source);
    },
  };
  installations.set(source, installation);
  return installation.uninstall;
}

function rejectionCounter(registry: Registry): Counter {
  // Reinstalling on the same registry (after an uninstall) reuses its counter: registering twice throws.
  const existing = registry.getSingleMetric(UNHANDLED_REJECTIONS_METRIC);
  if (existing) return existing as Counter;
  return new Counter({
    name: UNHANDLED_REJECTIONS_METRIC,
    help: 'Promise rejections that no code handled; each one is a bug',
    registers: [registry],
  });
}

function describe(reason: unknown): { message: string; stack?: string } {
  // Duck-typed rather than `instanceof Error`: errors from another realm (vm contexts) are Errors too.
  const error = reason as { message?: unknown; stack?: unknown } | null;
  if (error && typeof error === 'object' && typeof error.stack === 'string') {
    return { message: typeof error.message === 'string' ? error.message : String(reason), stack: error.stack };
  }
  if (typeof reason === 'string') return { message: reason };
  try {
    return { message: JSON.stringify(reason) ?? String(reason) };
  } catch {
    return { message: String(reason) };
  }
}
