import { Logger } from '@nestjs/common';
import { Registry } from 'prom-client';
import type { AppConfig } from '../../../config';
import { HealthInfoRegistry } from '../../../infra/health-info/health-info.registry';
import type { MetricsRegistry } from '../../../infra/metrics/metrics.registry';
import { FlowTracker, PENDING_PROMISES_WARNING } from './flow-tracker';

function setup(ttlMs = 1000) {
  const registry = new Registry();
  const health = new HealthInfoRegistry();
  const tracker = new FlowTracker({ FLOW_TTL_MS: ttlMs } as AppConfig, { registry } as MetricsRegistry, health);
  return { tracker, registry, health };
}

describe('FlowTracker', () => {
  afterEach(() => jest.restoreAllMocks());

  it('expires the flows older than FLOW_TTL_MS (removed, counted, in the metrics) and keeps the others', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const { tracker, registry } = setup(1000);
    const old = tracker.start('a');
    const now = old.startedAt + 1500;
    const young = tracker.start('b');
    (young as { startedAt: number }).startedAt = now - 200;
    expect(tracker.expire(now)).toBe(1);
    expect(tracker.view()).toMatchObject({ active: 1, expiredTotal: 1, bySession: { b: 1 } });
    expect(warn).toHaveBeenCalledTimes(1);
    expect(await registry.getSingleMetricAsString('zaphub_flows_expired_total')).toMatch(/^zaphub_flows_expired_total 1$/m);
    expect(await registry.getSingleMetricAsString('zaphub_flows_active')).toMatch(/^zaphub_flows_active 1$/m);
    // Ending an expired flow later is harmless.
    tracker.end(old);
    tracker.end(young);
    expect(tracker.view().active).toBe(0);
  });

  it('counts pending promises until they settle, and warns once when they cross the threshold', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const { tracker, registry, health } = setup();
    const resolvers: Array<() => void> = [];
    const tracked = Array.from({ length: PENDING_PROMISES_WARNING + 2 }, () => tracker.track(new Promise<void>((resolve) => resolvers.push(resolve))));
    expect(tracker.view().pendingPromises).toBe(PENDING_PROMISES_WARNING + 2);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(await registry.getSingleMetricAsString('zaphub_pending_promises')).toMatch(new RegExp(`^zaphub_pending_promises ${PENDING_PROMISES_WARNING + 2}$`, 'm'));
    tracker.onModuleInit();
    expect(await health.get('flows')!()).toEqual({ active: 0, oldestAgeSeconds: 0, pendingPromises: PENDING_PROMISES_WARNING + 2 });
    tracker.onApplicationShutdown();
    resolvers.forEach((resolve) => resolve());
    await Promise.all(tracked);
    expect(tracker.view().pendingPromises).toBe(0);
  });
});
