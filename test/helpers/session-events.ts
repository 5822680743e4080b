import { EventBus } from '../../src/infra/events/event-bus';
import type { ZapHubEvents } from '../../src/infra/events/zaphub-events';
import type { TestApp } from './test-app';
import { waitFor } from './test-env';

export type RecordedSessionEvent =
  | ({ event: 'session.status'; at: number } & ZapHubEvents['session.status'])
  | ({ event: 'session.qr'; at: number } & ZapHubEvents['session.qr']);

/**
 * Records the `session.status` and `session.qr` events the application puts on
 * its in-process event bus (the real bus of the running app, no stand-in), with
 * the time each one arrived, in arrival order.
 */
export function recordSessionEvents(t: TestApp) {
  const bus = t.app.get(EventBus);
  const events: RecordedSessionEvent[] = [];
  const offs = [
    bus.on('session.status', (payload) => void events.push({ event: 'session.status', at: Date.now(), ...payload })),
    bus.on('session.qr', (payload) => void events.push({ event: 'session.qr', at: Date.now(), ...payload })),
  ];
  const recorder = {
    events,
    /** Every recorded event of one session, in arrival order. */
    of: (session: string) => events.filter((e) => e.session === session),
    /** The `session.status` events of one session. */
    statusesOf: (session: string) =>
      events.filter((e): e is Extract<RecordedSessionEvent, { event: 'session.status' }> => e.event === 'session.status' && e.session === session),
    /** Waits for the first `session.status` event of `session` with `status` recorded after index `from` (of all events). */
    waitForStatus(session: string, status: string, from = 0, timeoutMs = 30000) {
      return waitFor(
        () => events.slice(from).find((e): e is Extract<RecordedSessionEvent, { event: 'session.status' }> => e.event === 'session.status' && e.session === session && e.status === status),
        `session.status ${status} of ${session}`,
        timeoutMs,
        10,
      );
    },
    stop: () => offs.forEach((off) => off()),
  };
  return recorder;
}
