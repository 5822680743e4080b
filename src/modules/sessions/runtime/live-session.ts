import type { EngineConnection } from '../engine/whatsapp-engine.port';
import type { SessionStatus } from '../session.types';
import { AttemptCancelledError, SessionCircuit } from './session-circuit';
import { SessionContext } from './session-context';
import type { StatusWriter } from './status-writer';

/**
 * Everything the owner worker holds for one running session. All of it is
 * released by `dispose()`: timers, the socket, caches and the status writer.
 */
export class LiveSession {
  connection: EngineConnection | null = null;
  /** Bumped per connection: events of an older connection are ignored. */
  generation = 0;
  /** Settles the connection attempt in flight (resolve on open). */
  attempt: { resolve: () => void; reject: (error: Error) => void } | null = null;
  /** The runtime is closing this session on purpose: close events are expected. */
  stopping = false;
  reconnectAttempts = 0;
  qrCount = 0;
  status: SessionStatus;
  lastPersistedStatus: SessionStatus;
  reconnectTimer: NodeJS.Timeout | null = null;
  trialTimer: NodeJS.Timeout | null = null;
  readonly context: SessionContext;

  constructor(
    readonly id: string,
    readonly name: string,
    initialStatus: SessionStatus,
    readonly circuit: SessionCircuit,
    readonly writer: StatusWriter,
  ) {
    this.status = initialStatus;
    this.lastPersistedStatus = initialStatus;
    this.context = new SessionContext(name);
  }

  clearTimers(): void {
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (this.trialTimer) clearTimeout(this.trialTimer);
    this.reconnectTimer = null;
    this.trialTimer = null;
  }

  /** Closes the socket (if any) and makes its late events stale. */
  async dropConnection(): Promise<void> {
    const connection = this.connection;
    this.connection = null;
    this.generation += 1;
    const attempt = this.attempt;
    this.attempt = null;
    attempt?.reject(new AttemptCancelledError());
    if (connection) await connection.close().catch(() => undefined);
  }

  async dispose(): Promise<void> {
    this.stopping = true;
    this.clearTimers();
    await this.dropConnection();
    await this.writer.dispose();
    this.circuit.dispose();
    this.context.clear();
  }
}
