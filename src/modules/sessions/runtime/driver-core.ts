import { Logger } from '@nestjs/common';
import type { AppConfig } from '../../../config';
import type { BackgroundFailures } from '../../../infra/metrics/background-failures';
import type { EngineConnection, WhatsAppEngine } from '../engine/whatsapp-engine.port';
import type { SessionHooks } from '../session-hooks';
import type { SessionRepository } from '../session.repository';
import type { SessionRecord, SessionStatus } from '../session.types';
import type { AuthStateStores } from './auth-state-stores';
import { DriverTimers } from './driver-timers';
import { InboundRelay } from './inbound-relay';
import { ReconnectCircuit } from './reconnect-circuit';
import { SerialQueue } from './serial-queue';
import { SessionChannel } from './session-channel';
import { SessionContext } from './session-context';
import type { SessionMetrics } from './session-metrics';
import type { SessionStatusPublisher } from './session-status.publisher';
import { StatusWriter, type StatusUpdate } from './status-writer';

/** What the driver needs from the rest of the runtime. */
export interface DriverDeps {
  config: AppConfig;
  engine: WhatsAppEngine;
  auth: AuthStateStores;
  sessions: SessionRepository;
  publisher: SessionStatusPublisher;
  hooks: SessionHooks;
  metrics: SessionMetrics;
  background: BackgroundFailures;
  /** True while this worker still holds the session's Redis lease. */
  isLeased(sessionId: string): boolean;
  /** The driver is done here: free its slot; hand the lease back (true) or just forget it (false). */
  released(driver: DriverCore, handBack: boolean): Promise<void>;
}

/** Another worker owns the session now (the fenced write changed nothing). */
export class FencedOutError extends Error {}

export type Phase = 'idle' | 'connecting' | 'pairing' | 'open' | 'waiting';

/**
 * The state of one live session and the plumbing every operation of its
 * SessionDriver goes through: the serial queue (`op`, `enqueue`), fenced
 * status writes (`write`), the socket (`dropConnection`) and the end of the
 * session on this worker (`finish`). The lifecycle itself is SessionDriver's.
 */
export abstract class DriverCore {
  readonly id: string;
  readonly name: string;
  protected readonly log = new Logger('SessionDriver');
  protected readonly ops = new SerialQueue();
  protected readonly writer: StatusWriter;
  protected readonly context: SessionContext;
  protected readonly inbound: InboundRelay;
  protected readonly epoch: number;
  protected circuit: ReconnectCircuit;
  protected persisted: SessionStatus;
  protected status: SessionStatus;
  protected phase: Phase = 'idle';
  protected connection: EngineConnection | null = null;
  /** Bumped per socket: events and timers of an older socket are ignored. */
  protected generation = 0;
  protected reconnectAttempts: number;
  protected qrCount = 0;
  protected restartsWithoutOpen = 0;
  protected handledActionSeq: number;
  /** The LOGOUT this driver carried out: a row read before its completion was written must not log out again. */
  protected handledLogoutSeq: number | null = null;
  protected readonly timers = new DriverTimers();
  protected ended = false;

  constructor(
    protected readonly deps: DriverDeps,
    row: SessionRecord,
  ) {
    this.id = row.id;
    this.name = row.name;
    this.epoch = row.leaseEpoch;
    this.persisted = row.status;
    this.status = row.status;
    this.reconnectAttempts = row.reconnectAttempts;
    this.handledActionSeq = row.actionSeq;
    this.circuit = new ReconnectCircuit(deps.config.CIRCUIT_BREAKER_THRESHOLD, { state: row.circuitState, failures: row.circuitFailures });
    this.context = new SessionContext(row.name);
    this.inbound = new InboundRelay({ id: row.id, name: row.name }, this.context, deps.hooks, deps.metrics);
    this.writer = new StatusWriter(
      deps.config.STATUS_DEBOUNCE_MS,
      (update) => this.persist(update),
      (flush) => this.enqueue('debounced status write', flush),
    );
  }

  /** Lease lost or fenced out: close the socket and leave the row to its new owner. Not queued: it must act now. */
  async abandon(reason: string): Promise<void> {
    if (this.ended) return;
    this.log.warn(`session ${this.name}: giving the session up (${reason})`);
    await this.finish(false);
  }

  /** Process shutdown: close the socket, keep the row as it is (desired RUNNING), hand the lease to another worker. */
  async shutdown(): Promise<void> {
    if (this.ended) return;
    await this.finish(true);
  }

  /** The owner-only handle messaging sends through; null unless WORKING here under a held lease. */
  channel(): SessionChannel | null {
    const connection = this.connection;
    if (this.ended || this.phase !== 'open' || !connection || !this.deps.isLeased(this.id)) return null;
    const generation = this.generation;
    return new SessionChannel(this.id, this.name, connection, () => !this.ended && this.phase === 'open' && this.generation === generation && this.deps.isLeased(this.id));
  }

  get currentStatus(): SessionStatus {
    return this.status;
  }

  get isEnded(): boolean {
    return this.ended;
  }

  cacheSizes(): Record<string, number> {
    return { ...this.context.sizes(), ...(this.connection?.cacheSizes() ?? {}) };
  }

  // ------------------------------------------------------------ plumbing

  /** Runs `task` on the serial queue; a fenced-out write ends the driver, other errors reach the caller. */
  protected op(task: () => Promise<void>): Promise<void> {
    return this.ops.run(async () => {
      if (this.ended) return;
      try {
        await task();
      } catch (error) {
        if (error instanceof FencedOutError) return this.abandon(error.message);
        throw error;
      }
    });
  }

  /** An operation nobody awaits (engine events, timers): failures are logged and counted. */
  protected enqueue(task: string, fn: () => Promise<void>): void {
    this.deps.background.track(`session ${task}`, this.op(fn), { session: this.name });
  }

  protected async write(update: StatusUpdate): Promise<void> {
    this.status = update.status;
    await this.writer.write(update);
  }

  protected async persist(update: StatusUpdate): Promise<void> {
    const record = await this.deps.publisher.write({ id: this.id, name: this.name, epoch: this.epoch }, this.persisted, update);
    if (!record) throw new FencedOutError('the session row moved to another owner or was deleted');
    this.persisted = record.status;
  }

  /** Forgets the current socket without closing it (the caller closes it its own way, e.g. logout). */
  protected detachConnection(): void {
    this.timers.clearDeadline();
    this.connection = null;
    this.generation += 1;
    this.phase = 'idle';
  }

  protected async dropConnection(): Promise<void> {
    const connection = this.connection;
    this.detachConnection();
    this.timers.clearRetry();
    if (connection) await connection.close().catch((error: unknown) => this.log.warn(`session ${this.name}: closing the socket failed: ${String(error)}`));
  }

  protected async finish(handBack: boolean): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    this.writer.discard();
    await this.dropConnection();
    await this.inbound.drain();
    this.context.clear();
    await this.deps.released(this, handBack);
  }
}
