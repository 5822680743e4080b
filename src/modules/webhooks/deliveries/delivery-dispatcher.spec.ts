import type { AppConfig } from '../../../config';
import type { BackgroundFailures } from '../../../infra/metrics/background-failures';
import type { QueuesService } from '../../../infra/queues/queues.service';
import type { DeliveryAttemptService } from './delivery-attempt.service';
import { DeliveryDispatcher } from './delivery-dispatcher';
import type { DeliveryWakeups } from './delivery-wakeups';
import type { ClaimedDelivery } from './delivery.repository';

/**
 * The dispatcher's bookkeeping against a fake store of due rows and requests
 * that end when the test says: the concurrency bounds requests in flight, it
 * claims ahead in batches (not one statement per finished request), it goes
 * on by itself as requests end, and a paused queue stops claiming.
 */
function setup(concurrency: number, due: number) {
  const rows = Array.from({ length: due }, (_, i) => ({ id: `d${i}` }) as ClaimedDelivery);
  const claims: number[] = [];
  const requests = new Map<string, () => void>();
  let sending = 0;
  let maxSending = 0;
  let paused = false;
  let pauseChecks = 0;
  const attempts = {
    claimFirstAttempts: jest.fn(async (limit: number) => {
      claims.push(limit);
      return { claimed: rows.splice(0, limit), envelopes: new Map() };
    }),
    run: jest.fn(
      (claimed: ClaimedDelivery, _envelopes: unknown, onSent: () => void) =>
        new Promise<void>((resolve) => {
          sending++;
          maxSending = Math.max(maxSending, sending);
          requests.set(claimed.id, () => {
            sending--;
            requests.delete(claimed.id);
            onSent();
            resolve();
          });
        }),
    ),
  };
  const wakeups = { listen: () => () => undefined };
  const queues = {
    get: () => ({
      isPaused: async () => {
        pauseChecks++;
        return paused;
      },
    }),
  };
  const failures: unknown[] = [];
  const background = { record: (_task: string, error: unknown) => failures.push(error) };
  const dispatcher = new DeliveryDispatcher(
    { QUEUE_WEBHOOK_DELIVERY_CONCURRENCY: concurrency, WEBHOOK_RECONCILE_INTERVAL_MS: 600_000 } as AppConfig,
    attempts as unknown as DeliveryAttemptService,
    wakeups as unknown as DeliveryWakeups,
    queues as unknown as QueuesService,
    background as unknown as BackgroundFailures,
  );
  /** Lets the dispatcher's promises settle. */
  const settle = async () => {
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
  };
  return {
    dispatcher,
    claims,
    requests,
    rows,
    failures,
    settle,
    get maxSending() {
      return maxSending;
    },
    setPaused: (value: boolean) => (paused = value),
    get pauseChecks() {
      return pauseChecks;
    },
    /** Ends every request in flight, in start order. */
    endAll: () => [...requests.values()].forEach((end) => end()),
  };
}

describe('DeliveryDispatcher', () => {
  it('keeps at most the concurrency in flight, claims ahead in batches and drains a backlog by itself', async () => {
    const s = setup(4, 50);
    s.dispatcher.onApplicationBootstrap();
    await s.settle();
    expect(s.requests.size).toBe(4);
    // Claimed twice the concurrency ahead: a claim's round trip never leaves a slot idle.
    expect(s.claims).toEqual([8]);
    while (s.requests.size) {
      s.endAll();
      await s.settle();
    }
    expect(s.rows).toHaveLength(0);
    expect(s.maxSending).toBe(4);
    // Batches of at least half the concurrency, never one claim per request.
    expect(s.claims.every((n) => n >= 2)).toBe(true);
    expect(s.claims.length).toBeLessThanOrEqual(Math.ceil(50 / 2) + 1);
    await s.dispatcher.beforeApplicationShutdown();
    expect(s.failures).toEqual([]);
  });

  it('claims nothing while the webhook-delivery queue is paused', async () => {
    const s = setup(4, 10);
    s.setPaused(true);
    s.dispatcher.onApplicationBootstrap();
    await s.settle();
    s.dispatcher.wake();
    await s.settle();
    expect(s.claims).toEqual([]);
    expect(s.requests.size).toBe(0);
    await s.dispatcher.beforeApplicationShutdown();
  });

  it('asks Redis about the pause at most every 250 ms, not before every claim', async () => {
    const s = setup(2, 40);
    s.dispatcher.onApplicationBootstrap();
    await s.settle();
    while (s.requests.size) {
      s.endAll();
      await s.settle();
    }
    expect(s.rows).toHaveLength(0);
    expect(s.claims.length).toBeGreaterThan(5);
    // Not one question per claim (the claims here come within far less than 250 ms of each other,
    // but a loaded test machine may cross one boundary).
    expect(s.pauseChecks).toBeLessThanOrEqual(2);
    await s.dispatcher.beforeApplicationShutdown();
  });

  it('waits at shutdown for the attempts it claimed, including those not started yet', async () => {
    const s = setup(2, 4);
    s.dispatcher.onApplicationBootstrap();
    await s.settle();
    expect(s.requests.size).toBe(2);
    let stopped = false;
    const stopping = s.dispatcher.beforeApplicationShutdown().then(() => (stopped = true));
    while (s.requests.size) {
      s.endAll();
      await s.settle();
    }
    await stopping;
    expect(stopped).toBe(true);
    // The four claimed before the shutdown were all attempted; nothing was claimed after it.
    expect(s.claims).toEqual([4]);
  });
});
