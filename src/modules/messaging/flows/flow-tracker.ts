import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { Counter, Gauge } from 'prom-client';
import { APP_CONFIG, type AppConfig } from '../../../config';
import { HealthInfoRegistry } from '../../../infra/health-info/health-info.registry';
import { MetricsRegistry } from '../../../infra/metrics/metrics.registry';

/** Above this many unsettled promises a warning is logged (once per crossing). */
export const PENDING_PROMISES_WARNING = 100;

export interface Flow {
  readonly id: number;
  readonly sessionName: string;
  readonly startedAt: number;
}

export interface FlowsView {
  active: number;
  oldestAgeSeconds: number;
  pendingPromises: number;
  expiredTotal: number;
  bySession: Record<string, number>;
}

/**
 * The in-flight work of this process (seeds 001 and 004: a map of flows that
 * only grew, and promises nobody awaited, until the heap ran out). A flow is
 * one drain of one chat (later: one inbound message being recorded); it is
 * removed in the `finally` of its work, and one still there after
 * FLOW_TTL_MS is expired: removed, counted and logged, so a stuck await
 * shows up in the metrics instead of as a slow leak. Pending promises are
 * the sends (and later receives) not settled yet. Exposed on GET /api/flows,
 * the readiness `flows` section and the zaphub_flows_* / zaphub_pending_promises
 * metrics. Process-local by nature: each replica reports its own.
 */
@Injectable()
export class FlowTracker implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(FlowTracker.name);
  private readonly flows = new Map<number, Flow>();
  private nextId = 1;
  private pending = 0;
  private warned = false;
  private expiredTotal = 0;
  private readonly expired: Counter;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    metrics: MetricsRegistry,
    private readonly health: HealthInfoRegistry,
  ) {
    const registers = [metrics.registry];
    const self = this;
    new Gauge({
      name: 'zaphub_flows_active',
      help: 'Flows in progress in this process (a drain of one chat, an inbound message being recorded)',
      registers,
      collect() {
        this.set(self.flows.size);
      },
    });
    new Gauge({
      name: 'zaphub_flows_oldest_age_seconds',
      help: 'Age of the oldest flow in progress in this process (0 when none)',
      registers,
      collect() {
        this.set(self.oldestAgeSeconds());
      },
    });
    this.expired = new Counter({ name: 'zaphub_flows_expired_total', help: 'Flows still open after FLOW_TTL_MS, removed and counted', registers });
    new Gauge({
      name: 'zaphub_pending_promises',
      help: 'Send and receive promises of this process not settled yet',
      registers,
      collect() {
        this.set(self.pending);
      },
    });
  }

  onModuleInit(): void {
    this.health.register('flows', () => {
      const { active, oldestAgeSeconds, pendingPromises } = this.view();
      return { active, oldestAgeSeconds, pendingPromises };
    });
    this.timer = setInterval(() => this.expire(), Math.min(this.config.FLOW_TTL_MS, 60_000));
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }

  start(sessionName: string): Flow {
    const flow: Flow = { id: this.nextId++, sessionName, startedAt: Date.now() };
    this.flows.set(flow.id, flow);
    return flow;
  }

  end(flow: Flow): void {
    this.flows.delete(flow.id);
  }

  /** Counts `promise` as pending until it settles; returns it unchanged (the caller still awaits it). */
  track<T>(promise: Promise<T>): Promise<T> {
    this.pending++;
    if (this.pending > PENDING_PROMISES_WARNING && !this.warned) {
      this.warned = true;
      this.logger.warn({ pendingPromises: this.pending }, `more than ${PENDING_PROMISES_WARNING} send/receive promises pending`);
    }
    return promise.finally(() => {
      this.pending--;
      if (this.pending <= PENDING_PROMISES_WARNING) this.warned = false;
    });
  }

  /** Removes and counts the flows older than FLOW_TTL_MS; returns how many. */
  expire(now = Date.now()): number {
    let count = 0;
    for (const flow of this.flows.values()) {
      if (now - flow.startedAt <= this.config.FLOW_TTL_MS) continue;
      this.flows.delete(flow.id);
      count++;
      this.logger.warn({ session: flow.sessionName, ageSeconds: Math.round((now - flow.startedAt) / 1000) }, 'flow expired: still open after FLOW_TTL_MS');
    }
    this.expiredTotal += count;
    if (count) this.expired.inc(count);
    return count;
  }

  view(): FlowsView {
    const bySession: Record<string, number> = {};
    for (const flow of this.flows.values()) bySession[flow.sessionName] = (bySession[flow.sessionName] ?? 0) + 1;
    return { active: this.flows.size, oldestAgeSeconds: this.oldestAgeSeconds(), pendingPromises: this.pending, expiredTotal: this.expiredTotal, bySession };
  }

  private oldestAgeSeconds(): number {
    let oldest = Infinity;
    for (const flow of this.flows.values()) oldest = Math.min(oldest, flow.startedAt);
    return oldest === Infinity ? 0 : Math.max(0, (Date.now() - oldest) / 1000);
  }
}
