import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { APP_CONFIG, type AppConfig } from '../../config';
import { HealthInfoRegistry } from '../../infra/health-info/health-info.registry';
import { LifecycleService } from '../../infra/lifecycle/lifecycle.service';
import { QueueMetricsCollector } from '../../infra/metrics/queue-metrics.collector';
import { WorkerRegistry } from '../../infra/queues/worker-registry';
import { RedisService, withTimeout } from '../../infra/redis/redis.module';
import { DatabasePingRepository } from './database-ping.repository';

const PROBE_TIMEOUT_MS = 2000;

/** Terminus indicators of ZapHub: hard dependencies plus informational sections. */
@Injectable()
export class HealthIndicators {
  private readonly lastInfo = new Map<string, Record<string, unknown>>();

  constructor(
    private readonly indicator: HealthIndicatorService,
    private readonly db: DatabasePingRepository,
    private readonly redis: RedisService,
    private readonly workers: WorkerRegistry,
    private readonly lifecycle: LifecycleService,
    private readonly queueCounts: QueueMetricsCollector,
    private readonly info: HealthInfoRegistry,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async shutdown(): Promise<HealthIndicatorResult> {
    const check = this.indicator.check('shutdown');
    return this.lifecycle.isShuttingDown ? check.down({ message: 'shutting down' }) : check.up();
  }

  async database(): Promise<HealthIndicatorResult> {
    const check = this.indicator.check('database');
    try {
      await this.db.ping(PROBE_TIMEOUT_MS);
      return check.up();
    } catch (error) {
      return check.down({ message: errorMessage(error) });
    }
  }

  async redisPing(): Promise<HealthIndicatorResult> {
    const check = this.indicator.check('redis');
    try {
      await this.redis.ping(PROBE_TIMEOUT_MS);
      return check.up();
    } catch (error) {
      return check.down({ message: errorMessage(error) });
    }
  }

  /** On worker/all roles, every registered BullMQ worker must be running. */
  async processors(): Promise<HealthIndicatorResult> {
    const check = this.indicator.check('processors');
    if (this.config.APP_ROLE === 'api') return check.up({ role: 'api' });
    const stopped = this.workers.notRunning();
    return stopped.length ? check.down({ stopped }) : check.up({ workers: this.workers.size });
  }

  async startup(): Promise<HealthIndicatorResult> {
    const check = this.indicator.check('startup');
    const pending = this.lifecycle.startupPending;
    return pending.length ? check.down({ pending }) : check.up();
  }

  /** Informational: always `up`, carries the pool picture (from the sessions module when loaded). */
  async pool(): Promise<HealthIndicatorResult> {
    const data = await this.informational('pool', { active: 0, max: this.config.MAX_SESSIONS, waiting: 0 });
    return this.indicator.check('pool').up(data);
  }

  async queues(): Promise<HealthIndicatorResult> {
    const counts = await this.queueCounts.read();
    const data = Object.fromEntries(
      counts.map((q) => [q.name, { waiting: q.waiting, active: q.active, delayed: q.delayed, failed: q.failed }]),
    );
    return this.indicator.check('queues').up(data);
  }

  async flows(): Promise<HealthIndicatorResult> {
    const data = await this.informational('flows', { active: 0, oldestAgeSeconds: 0, pendingPromises: 0 });
    return this.indicator.check('flows').up(data);
  }

  /**
   * A section contributed by a feature module. It must never fail or slow the
   * probe: a provider that throws or takes longer than the probe timeout (say
   * because PostgreSQL is down, which the `database` indicator reports) yields
   * its last known picture, or `fallback`, plus an `error` field.
   */
  private async informational(name: string, fallback: Record<string, unknown>): Promise<Record<string, unknown>> {
    const provider = this.info.get(name);
    if (!provider) return fallback;
    try {
      const data = await withTimeout(Promise.resolve(provider()), PROBE_TIMEOUT_MS, `${name} info timed out`);
      this.lastInfo.set(name, data);
      return data;
    } catch (error) {
      return { ...(this.lastInfo.get(name) ?? fallback), error: errorMessage(error) };
    }
  }
}

/** One line: Prisma errors span several lines whose last one says what happened. */
function errorMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const lines = message.split('\n').map((l) => l.trim()).filter(Boolean);
  return lines[lines.length - 1] ?? 'unknown error';
}
