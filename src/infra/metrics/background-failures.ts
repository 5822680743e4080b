import { Injectable, Logger } from '@nestjs/common';
import { Counter } from 'prom-client';
import { MetricsRegistry } from './metrics.registry';

/**
 * For the few promises nobody can await (timer callbacks, event handlers,
 * best-effort publications): `track` catches the failure, logs it and counts
 * it in `zaphub_background_failures_total{task}`, so no rejection is ever
 * unhandled or silent. `task` is a fixed name, never an id.
 */
@Injectable()
export class BackgroundFailures {
  private readonly logger = new Logger('Background');
  private readonly failures: Counter<'task'>;

  constructor(metrics: MetricsRegistry) {
    this.failures = new Counter({
      name: 'zaphub_background_failures_total',
      help: 'Failures of work run in the background (timers, event handlers, best-effort publications), by task',
      labelNames: ['task'],
      registers: [metrics.registry],
    });
  }

  track(task: string, promise: Promise<unknown>, context: Record<string, unknown> = {}): void {
    promise.catch((error: unknown) => this.record(task, error, context));
  }

  record(task: string, error: unknown, context: Record<string, unknown> = {}): void {
    this.failures.inc({ task });
    this.logger.error({ err: error, task, ...context }, `${task} failed`);
  }
}
