import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../../config';
import { ConflictError, NotFoundError, ServiceUnavailableError } from '../../common/errors/domain-errors';
import { QueueName } from '../../infra/queues/queue-catalogue';
import { QueuesService } from '../../infra/queues/queues.service';
import { PoolStatsService } from './pool-stats.service';
import { SessionCommandBus } from './runtime/session-command-bus';
import { SessionLeaseService } from './runtime/session-lease.service';
import type { CreateSessionDto, SessionConfigDto } from './sessions.dto';
import { SessionRepository } from './session.repository';
import { toSessionView, type SessionView } from './session.view';
import type { SessionRecord, StoredSessionConfig } from './session.types';

const PAIRING_TIMEOUT_MS = 20_000;

export interface PoolView {
  active: number;
  max: number;
  waiting: string[];
  utilization: number;
}

/**
 * The API side of sessions: validates intent, records the desired state in
 * PostgreSQL and enqueues session-init / session-close jobs (deduplicated, so a
 * double click is a no-op). Commands that need the live socket go to its owner
 * over the command bus. Works the same on `api` and `all` replicas.
 */
@Injectable()
export class SessionsService {
  constructor(
    private readonly sessions: SessionRepository,
    private readonly queues: QueuesService,
    private readonly leases: SessionLeaseService,
    private readonly commands: SessionCommandBus,
    private readonly poolStats: PoolStatsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async create(dto: CreateSessionDto): Promise<SessionView> {
    const start = dto.start ?? true;
    const record = await this.sessions.create(dto.name, toStoredConfig(dto.config), start ? 'RUNNING' : 'STOPPED');
    if (!record) throw new ConflictError(`A session named "${dto.name}" already exists`);
    if (start) await this.enqueueInit(record.id, 'start');
    return this.view(record);
  }

  async list(): Promise<SessionView[]> {
    const [records, queued] = await Promise.all([this.sessions.list(), this.sessions.queuedNames()]);
    return records.map((r) => toSessionView(r, this.config, positionOf(queued, r.name)));
  }

  async get(name: string): Promise<SessionView> {
    return this.view(await this.require(name));
  }

  async patch(name: string, config: SessionConfigDto): Promise<SessionView> {
    const record = await this.require(name);
    const merged: StoredSessionConfig = { ...record.config, ...toStoredConfig(config) };
    if (config.humanize) merged.humanize = { ...record.config.humanize, ...config.humanize };
    return this.view(await this.updateOr404(record, { config: merged }));
  }

  async start(name: string): Promise<SessionView> {
    const record = await this.require(name);
    const updated = await this.updateOr404(record, { desiredState: 'RUNNING' });
    await this.enqueueInit(record.id, 'start');
    return this.view(updated);
  }

  async restart(name: string): Promise<SessionView> {
    const record = await this.require(name);
    const updated = await this.updateOr404(record, { desiredState: 'RUNNING' });
    await this.enqueueInit(record.id, 'restart');
    return this.view(updated);
  }

  async stop(name: string): Promise<SessionView> {
    const record = await this.require(name);
    const updated = await this.updateOr404(record, { desiredState: 'STOPPED' });
    await this.enqueueClose(record.id, 'stop');
    return this.view(updated);
  }

  async logout(name: string): Promise<SessionView> {
    const record = await this.require(name);
    const updated = await this.updateOr404(record, { desiredState: 'STOPPED' });
    await this.enqueueClose(record.id, 'logout');
    return this.view(updated);
  }

  /** Tells the owner to log out and close, then removes the row with its auth state (cascade). */
  async delete(name: string): Promise<void> {
    const record = await this.require(name);
    await this.sessions.update(record.id, { desiredState: 'STOPPED' });
    await this.enqueueClose(record.id, 'delete');
    await this.sessions.delete(record.id);
  }

  async qr(name: string): Promise<{ value: string; expiresAt: string }> {
    const record = await this.require(name);
    if (record.status !== 'SCAN_QR' || !record.qr) {
      throw new ConflictError(`Session "${name}" is ${record.status}, not waiting for a QR scan (SCAN_QR)`);
    }
    return { value: record.qr, expiresAt: (record.qrExpiresAt ?? new Date()).toISOString() };
  }

  /** Current QR by session name, for the sandbox's fake phone. */
  async currentQr(name: string): Promise<string | null> {
    const record = await this.sessions.findByName(name);
    return record?.status === 'SCAN_QR' ? record.qr : null;
  }

  async pairingCode(name: string, phoneNumber: string): Promise<{ code: string }> {
    const record = await this.require(name);
    const phone = phoneNumber.replace(/\D/g, '');
    if (phone.length < 7 || phone.length > 15) throw new ConflictError('phoneNumber must have 7 to 15 digits');
    const owner = await this.leases.holder(record.id);
    if (!owner) throw new ConflictError(`Session "${name}" is ${record.status}: start it before requesting a pairing code`);
    const reply = await this.commands.request({ type: 'pairing-code', sessionId: record.id, target: owner, phone }, PAIRING_TIMEOUT_MS);
    if (!reply) throw new ServiceUnavailableError('The worker owning this session did not answer in time');
    // Whatever the owner refused (not waiting for pairing, lost the session meanwhile) is a state conflict.
    if (!reply.ok) throw new ConflictError(reply.message);
    return { code: reply.value };
  }

  async reconnect(name: string): Promise<SessionView> {
    const record = await this.require(name);
    if (record.circuitState === 'OPEN') {
      throw new ConflictError('The reconnect circuit is open: reset it first (POST /api/sessions/:name/circuit/reset)');
    }
    const owner = await this.leases.holder(record.id);
    if (owner) await this.commands.publish({ type: 'reconnect', sessionId: record.id, target: owner });
    else if (record.desiredState === 'RUNNING') await this.enqueueInit(record.id, 'reconnect');
    else throw new ConflictError(`Session "${name}" is not running: start it instead`);
    return this.view(record);
  }

  async resetCircuit(name: string): Promise<SessionView> {
    const record = await this.require(name);
    const owner = await this.leases.holder(record.id);
    if (owner) {
      await this.commands.publish({ type: 'circuit-reset', sessionId: record.id, target: owner });
      return this.view(record);
    }
    const updated = await this.updateOr404(record, { circuitState: 'CLOSED', circuitFailures: 0, nextReconnectAt: null });
    if (record.desiredState === 'RUNNING') await this.enqueueInit(record.id, 'reconnect');
    return this.view(updated);
  }

  async pool(): Promise<PoolView> {
    const [totals, waiting] = await Promise.all([this.poolStats.totals(), this.sessions.queuedNames()]);
    return {
      active: totals.active,
      max: totals.max,
      waiting,
      utilization: totals.max ? Math.round((totals.active / totals.max) * 10000) / 10000 : 0,
    };
  }

  private async enqueueInit(sessionId: string, reason: 'start' | 'restart' | 'reconnect'): Promise<void> {
    // Deduplicated while a job for the same intent waits or runs: a double click adds nothing.
    await this.queues.add(QueueName.SessionInit, { sessionId, reason }, { deduplication: { id: `init-${reason}-${sessionId}` } });
  }

  private async enqueueClose(sessionId: string, action: 'stop' | 'logout' | 'delete'): Promise<void> {
    await this.queues.add(QueueName.SessionClose, { sessionId, action }, { deduplication: { id: `close-${action}-${sessionId}` } });
  }

  private async require(name: string): Promise<SessionRecord> {
    const record = await this.sessions.findByName(name);
    if (!record) throw new NotFoundError(`Session "${name}" not found`);
    return record;
  }

  private async updateOr404(record: SessionRecord, patch: Parameters<SessionRepository['update']>[1]): Promise<SessionRecord> {
    const updated = await this.sessions.update(record.id, patch);
    if (!updated) throw new NotFoundError(`Session "${record.name}" not found`);
    return updated;
  }

  private async view(record: SessionRecord): Promise<SessionView> {
    const position = record.status === 'QUEUED' ? positionOf(await this.sessions.queuedNames(), record.name) : null;
    return toSessionView(record, this.config, position);
  }
}

function positionOf(queued: string[], name: string): number | null {
  const index = queued.indexOf(name);
  return index === -1 ? null : index + 1;
}

function toStoredConfig(config: SessionConfigDto | undefined): StoredSessionConfig {
  if (!config) return {};
  return JSON.parse(JSON.stringify(config)) as StoredSessionConfig;
}
