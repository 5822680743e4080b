import { Injectable } from '@nestjs/common';
import { Counter, Gauge } from 'prom-client';
import { MetricsRegistry } from '../../../infra/metrics/metrics.registry';
import type { ScrapeCache } from '../../../infra/metrics/scrape-cache';
import { SessionRepository } from '../session.repository';
import { ALL_SESSION_STATUSES } from '../session.types';

const DB_CACHE_MS = 5000;

interface RuntimeView {
  pool: { active: number; max: number };
  cacheSizes(): Record<string, number>;
}

/**
 * Metrics of the sessions module ("pool" in CONTRACT.md and cache sizes).
 * Pool gauges describe this process's slots; session/circuit counts come from
 * PostgreSQL (the same on every replica: aggregate with max(), not sum()).
 */
@Injectable()
export class SessionMetrics {
  private readonly reconnects: Counter<'reason'>;
  private readonly inboundFailures: Counter<'kind'>;
  private runtime: RuntimeView | null = null;
  private readonly fromDb: ScrapeCache<{ status: Record<string, number>; circuit: Record<string, number>; waiting: number }>;

  constructor(
    metrics: MetricsRegistry,
    private readonly sessions: SessionRepository,
  ) {
    const registers = [metrics.registry];
    const self = this;
    // Slow or failed reads keep the last counts (`zaphub_metrics_stale{source="sessions"}`).
    this.fromDb = metrics.scrapeSource('sessions', () => this.readDb(), { ttlMs: DB_CACHE_MS, initial: { status: {}, circuit: {}, waiting: 0 } });
    this.reconnects = new Counter({
      name: 'zaphub_session_reconnects_total',
      help: 'Reconnect attempts scheduled, by disconnect reason',
      labelNames: ['reason'],
      registers,
    });
    this.inboundFailures = new Counter({
      name: 'zaphub_session_inbound_failures_total',
      help: 'Inbound messages and receipts the session could not hand over to messaging after retries, by kind',
      labelNames: ['kind'],
      registers,
    });
    new Gauge({
      name: 'zaphub_pool_sessions_active',
      help: 'Sessions holding a slot of this worker',
      registers,
      collect() {
        this.set(self.runtime?.pool.active ?? 0);
      },
    });
    new Gauge({
      name: 'zaphub_pool_sessions_max',
      help: 'Session slots of this worker (MAX_SESSIONS; 0 on api-only replicas)',
      registers,
      collect() {
        this.set(self.runtime?.pool.max ?? 0);
      },
    });
    new Gauge({
      name: 'zaphub_pool_sessions_waiting',
      help: 'Sessions QUEUED for a free slot (cluster-wide)',
      registers,
      async collect() {
        this.set((await self.fromDb.get()).waiting);
      },
    });
    new Gauge({
      name: 'zaphub_sessions',
      help: 'Sessions by status (cluster-wide)',
      labelNames: ['status'],
      registers,
      async collect() {
        const { status } = await self.fromDb.get();
        for (const s of ALL_SESSION_STATUSES) this.set({ status: s }, status[s] ?? 0);
      },
    });
    new Gauge({
      name: 'zaphub_circuit_breakers',
      help: 'Session reconnect circuit breakers by state (cluster-wide)',
      labelNames: ['state'],
      registers,
      async collect() {
        const { circuit } = await self.fromDb.get();
        for (const s of ['CLOSED', 'OPEN', 'HALF_OPEN']) this.set({ state: s }, circuit[s] ?? 0);
      },
    });
    new Gauge({
      name: 'zaphub_cache_entries',
      help: 'Entries in bounded in-memory caches of this process, by cache',
      labelNames: ['cache'],
      registers,
      collect() {
        this.reset();
        for (const [cache, n] of Object.entries(self.runtime?.cacheSizes() ?? {})) this.set({ cache }, n);
      },
    });
  }

  bindRuntime(runtime: RuntimeView): void {
    this.runtime = runtime;
  }

  reconnect(reason: string): void {
    this.reconnects.inc({ reason });
  }

  inboundFailed(kind: 'message' | 'receipt' | 'unexpected'): void {
    this.inboundFailures.inc({ kind });
  }

  private async readDb() {
    const [status, circuit] = await Promise.all([this.sessions.countByStatus(), this.sessions.countByCircuit()]);
    return { status, circuit, waiting: status.QUEUED ?? 0 };
  }
}
