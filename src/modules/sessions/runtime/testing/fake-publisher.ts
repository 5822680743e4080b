/**
 * Test doubles of what the SessionDriver writes through: the status publisher
 * (with the epoch fence), the auth-state stores, and a session row builder.
 * Plain TypeScript, no jest globals.
 */
import type { AuthStateStore } from '../../engine/whatsapp-engine.port';
import type { SessionRecord, SessionStatus } from '../../session.types';
import type { AuthStateStores } from '../auth-state-stores';
import type { PublishedSession } from '../session-status.publisher';
import type { StatusUpdate } from '../status-writer';
import { Deferred } from './fake-engine';

export const SESSION_ID = '00000000-0000-4000-8000-000000000001';

export function sessionRow(overrides: Partial<SessionRecord> = {}): SessionRecord {
  const at = new Date('2026-01-01T00:00:00.000Z');
  return {
    id: SESSION_ID,
    name: 'alpha',
    desiredState: 'RUNNING',
    status: 'STOPPED',
    config: {},
    me: null,
    lastError: null,
    stats: {},
    qr: null,
    qrExpiresAt: null,
    queuedAt: null,
    reconnectAttempts: 0,
    nextReconnectAt: null,
    circuitState: 'CLOSED',
    circuitFailures: 0,
    leaseEpoch: 1,
    pendingAction: null,
    actionSeq: 0,
    deletedAt: null,
    createdAt: at,
    updatedAt: at,
    ...overrides,
  };
}

export interface RecordedWrite {
  session: PublishedSession;
  previous: SessionStatus;
  update: StatusUpdate;
}

/**
 * Stands in for SessionStatusPublisher.write: records each write that went
 * through, and fences like the real one (null once the epoch "moved").
 */
export class FakePublisher {
  /** Writes that changed the row, in order. */
  readonly writes: RecordedWrite[] = [];
  /** Every call, including fenced and failed ones. */
  calls = 0;
  /** Fenced out: the row's epoch is not the writer's any more. */
  private fencedFrom: number | null = null;
  private inFlight = 0;
  maxInFlight = 0;
  private readonly holds: Array<{ status: SessionStatus; gate: Deferred<void>; entered: Deferred<void> }> = [];
  private readonly failures: Array<{ status: SessionStatus | null; error: Error }> = [];

  constructor(private readonly journal: string[] = []) {}

  /** Another worker took the session: every later write is a no-op returning null. */
  moveEpoch(to = 2): void {
    this.fencedFrom = to;
  }

  /** The next write of `status` waits for `release()`; `entered` resolves once it is waiting. */
  hold(status: SessionStatus): { release: () => void; entered: Promise<void> } {
    const hold = { status, gate: new Deferred<void>(), entered: new Deferred<void>() };
    this.holds.push(hold);
    return { release: () => hold.gate.resolve(), entered: hold.entered.promise };
  }

  /** The next write (of `status`, or any) rejects, as when PostgreSQL is unreachable. */
  failNext(error = new Error('database unavailable'), status: SessionStatus | null = null): void {
    this.failures.push({ status, error });
  }

  async write(session: PublishedSession, previous: SessionStatus, update: StatusUpdate): Promise<SessionRecord | null> {
    this.calls += 1;
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      const h = this.holds.findIndex((x) => x.status === update.status);
      if (h >= 0) {
        const [hold] = this.holds.splice(h, 1);
        hold!.entered.resolve();
        await hold!.gate.promise;
      }
      const f = this.failures.findIndex((x) => x.status === null || x.status === update.status);
      if (f >= 0) {
        const [failure] = this.failures.splice(f, 1);
        throw failure!.error;
      }
      if (this.fencedFrom !== null && this.fencedFrom !== session.epoch) {
        this.journal.push(`fenced:${update.status}`);
        return null;
      }
      this.writes.push({ session, previous, update });
      this.journal.push(`write:${update.status}`);
      return sessionRow({ id: session.id, name: session.name, leaseEpoch: session.epoch, ...update.patch, status: update.status });
    } finally {
      this.inFlight -= 1;
    }
  }

  async writeUnowned(): Promise<SessionRecord | null> {
    throw new Error('the driver never writes unowned');
  }

  statuses(): SessionStatus[] {
    return this.writes.map((w) => w.update.status);
  }

  /** The last write of `status` (or the last write at all). */
  last(status?: SessionStatus): StatusUpdate {
    const found = status ? this.writes.filter((w) => w.update.status === status) : this.writes;
    const write = found[found.length - 1];
    if (!write) throw new Error(`no ${status ?? ''} write; written: ${this.statuses().join(', ') || 'nothing'}`);
    return write.update;
  }

  count(status: SessionStatus): number {
    return this.writes.filter((w) => w.update.status === status).length;
  }
}

/** AuthStateStores over one in-memory credentials value; `wipe` clears it. */
export class FakeAuth implements AuthStateStores {
  creds: string | null;
  wipes = 0;
  /** loadCreds() results can be held by a test (a slow read). */
  loadCredsGate: Promise<void> | null = null;
  readonly store: AuthStateStore;

  constructor(
    creds: string | null,
    private readonly journal: string[] = [],
  ) {
    this.creds = creds;
    this.store = {
      loadCreds: async () => {
        if (this.loadCredsGate) await this.loadCredsGate;
        return this.creds;
      },
      saveCreds: async (serialized) => void (this.creds = serialized),
      getKeys: async () => ({}),
      setKeys: async () => undefined,
      clear: async () => void (this.creds = null),
    };
  }

  forSession(_sessionId: string): AuthStateStore {
    return this.store;
  }

  async wipe(_sessionId: string): Promise<void> {
    this.wipes += 1;
    this.creds = null;
    this.journal.push('wipe');
  }
}
