import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../../config';
import { ConflictError, NotFoundError, ServiceUnavailableError, ValidationError } from '../../common/errors/domain-errors';
import { phoneDigits, PHONE_RULE } from '../../common/validation/phone-number';
import { BackgroundFailures } from '../../infra/metrics/background-failures';
import { TransactionRunner, type DbTransaction } from '../../infra/prisma/transaction';
import { QueueName } from '../../infra/queues/queue-catalogue';
import { QueuesService } from '../../infra/queues/queues.service';
import { PoolStatsService } from './pool-stats.service';
import type { WebhookInput } from './session.types';
import { SessionHooks } from './session-hooks';
import { SessionCommandBus } from './runtime/session-command-bus';
import { SessionLeaseService } from './runtime/session-lease.service';
import type { CreateSessionDto, SessionConfigDto } from './sessions.dto';
import { mergeSessionConfig, newSessionConfig } from './session-config';
import { SessionRepository, type SessionPatch } from './session.repository';
import { effectiveConfig, toSessionView, type SessionConfigView, type SessionView } from './session.view';
import type { DesiredState, SessionAction, SessionRecord } from './session.types';

const PAIRING_TIMEOUT_MS = 20_000;

export interface PoolView {
  active: number;
  max: number;
  waiting: string[];
  utilization: number;
}

type Trigger = { queue: typeof QueueName.SessionInit; reason: 'start' | 'restart' | 'reconnect' } | { queue: typeof QueueName.SessionClose; action: 'stop' | 'logout' | 'delete' };

/**
 * The API side of sessions. Every lifecycle call writes what the operator
 * wants on the Session row (desired state, pending action) and then only
 * triggers the workers: a session-init / session-close job (deduplicated, so a
 * double click adds nothing) and a wake-up hint to the owner. A lost job or
 * hint costs a few seconds, never the request: each worker's reconciler
 * converges on the rows. Works the same on `api` and `all` replicas.
 */
@Injectable()
export class SessionsService {
  constructor(
    private readonly sessions: SessionRepository,
    private readonly queues: QueuesService,
    private readonly leases: SessionLeaseService,
    private readonly commands: SessionCommandBus,
    private readonly poolStats: PoolStatsService,
    private readonly background: BackgroundFailures,
    private readonly transactions: TransactionRunner,
    private readonly hooks: SessionHooks,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** `config.webhooks`, when given, become the session's endpoints in the transaction that creates it. */
  async create(dto: CreateSessionDto): Promise<SessionView> {
    const start = dto.start ?? true;
    const config = newSessionConfig(dto.config, this.config);
    const inline = dto.config?.webhooks;
    const conflict = () => new ConflictError(`A session named "${dto.name}" already exists`);
    let record: SessionRecord | null;
    if (inline?.length) {
      await this.hooks.inlineWebhooks.check(inline);
      record = await this.transactions.run(async (tx) => {
        const created = await this.sessions.create(dto.name, config, start ? 'RUNNING' : 'STOPPED', tx);
        if (!created) throw conflict();
        await this.hooks.inlineWebhooks.replace(tx, created.id, inline);
        return created;
      });
    } else {
      record = await this.sessions.create(dto.name, config, start ? 'RUNNING' : 'STOPPED');
    }
    if (!record) throw conflict();
    if (start) await this.trigger(record, { queue: QueueName.SessionInit, reason: 'start' });
    return this.view(record);
  }

  async list(): Promise<SessionView[]> {
    const [records, queued] = await Promise.all([this.sessions.list(), this.sessions.queuedNames()]);
    return records.map((r) => toSessionView(r, this.config, positionOf(queued, r.name)));
  }

  async get(name: string): Promise<SessionView> {
    return this.view(await this.require(name));
  }

  /**
   * Counts a message sent or failed for good in the session's stats, inside
   * the caller's transaction (messaging's, with the message's new status and
   * its event): atomic in SQL, so replicas never lose a count.
   */
  async countSend(tx: DbTransaction, sessionId: string, outcome: 'sent' | 'failed'): Promise<void> {
    await this.sessions.incrementStat(sessionId, outcome, 1, tx);
  }

  /**
   * Counts sends of several sessions (`counts`: session id to number) in one statement inside
   * the caller's transaction (a batch of recorded sends).
   */
  async countSendsMany(tx: DbTransaction, outcome: 'sent' | 'failed', counts: Map<string, number>): Promise<void> {
    await this.sessions.incrementStatMany(outcome, [...counts].map(([id, by]) => ({ id, by })), tx);
  }

  /**
   * Counts received messages of several sessions in the session stats, in one statement inside
   * the caller's transaction (a batch of the inbound recorder): `counts` maps session id to number.
   */
  async countReceivedMany(tx: DbTransaction, counts: Map<string, number>): Promise<void> {
    await this.sessions.incrementStatMany('received', [...counts].map(([id, by]) => ({ id, by })), tx);
  }

  /**
   * Holds a visible session (FOR KEY SHARE: a DELETE renames it, a key update that waits for it) until the caller's transaction ends,
   * so what it writes for the session commits before a DELETE of it or not at
   * all; NotFoundError when the session is deleted or unknown.
   */
  async lockVisible(tx: DbTransaction, sessionId: string, name: string): Promise<void> {
    if (!(await this.sessions.lockVisible(tx, sessionId))) throw new NotFoundError(`Session "${name}" not found`);
  }

  /** How a session sends (humanize, rate limit), defaults from the environment applied; null when it is gone. */
  async sendingConfigOf(sessionId: string): Promise<Pick<SessionConfigView, 'humanize' | 'rateLimitPerMinute'> | null> {
    const record = await this.sessions.findById(sessionId);
    if (!record || record.deletedAt) return null;
    const { humanize, rateLimitPerMinute } = effectiveConfig(record, this.config);
    return { humanize, rateLimitPerMinute };
  }

  /** The id of a visible session (other modules key their rows by it); NotFoundError otherwise. */
  async idOf(name: string): Promise<string> {
    return (await this.require(name)).id;
  }

  /** `config.webhooks`, when sent, replaces the session's config-declared endpoints in the same transaction. */
  async patch(name: string, config: SessionConfigDto): Promise<SessionView> {
    const record = await this.require(name);
    const merged = mergeSessionConfig(record.config, config, this.config);
    const inline: readonly WebhookInput[] | undefined = config.webhooks;
    if (inline === undefined) return this.view(await this.updateOr404(record, { config: merged }));
    await this.hooks.inlineWebhooks.check(inline);
    const updated = await this.transactions.run(async (tx) => {
      const written = await this.sessions.update(record.id, { config: merged }, tx);
      if (!written) throw new NotFoundError(`Session "${record.name}" not found`);
      await this.hooks.inlineWebhooks.replace(tx, record.id, inline);
      return written;
    });
    return this.view(updated);
  }

  start(name: string): Promise<SessionView> {
    return this.request(name, 'RUNNING', null, { queue: QueueName.SessionInit, reason: 'start' });
  }

  restart(name: string): Promise<SessionView> {
    return this.request(name, 'RUNNING', 'RESTART', { queue: QueueName.SessionInit, reason: 'restart' });
  }

  stop(name: string): Promise<SessionView> {
    return this.request(name, 'STOPPED', null, { queue: QueueName.SessionClose, action: 'stop' });
  }

  logout(name: string): Promise<SessionView> {
    return this.request(name, 'STOPPED', 'LOGOUT', { queue: QueueName.SessionClose, action: 'logout' });
  }

  /**
   * Hides the session at once (404 from now on, its name free again) and
   * cancels its queued messages; a worker then unlinks the device at WhatsApp,
   * even when it was not connected, wipes the auth state and removes the row
   * (its message history and events with it).
   */
  async delete(name: string): Promise<void> {
    const record = await this.require(name);
    // Its queued messages are canceled with the deletion, in one transaction.
    const deleted = await this.transactions.run(async (tx) => {
      if (!(await this.sessions.markDeleted(record.id, tx))) return false;
      await this.hooks.queuedMessages.cancelAll(tx, record.id);
      return true;
    });
    if (!deleted) throw new NotFoundError(`Session "${name}" not found`);
    await this.trigger(record, { queue: QueueName.SessionClose, action: 'delete' });
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
    const phone = phoneDigits(phoneNumber);
    if (!phone) throw new ValidationError(`phoneNumber ${PHONE_RULE}`, [{ field: 'phoneNumber', message: PHONE_RULE }]);
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
    if (record.desiredState !== 'RUNNING') throw new ConflictError(`Session "${name}" is not running: start it instead`);
    const owner = await this.leases.holder(record.id);
    if (owner) await this.commands.publish({ type: 'reconnect', sessionId: record.id, target: owner });
    else await this.trigger(record, { queue: QueueName.SessionInit, reason: 'reconnect' });
    return this.view(record);
  }

  /** Closes the breaker on the row (a FAILED session's trial becomes due now) and tells the owner, if any. */
  async resetCircuit(name: string): Promise<SessionView> {
    const record = await this.require(name);
    const updated = await this.updateOr404(record, {
      circuitState: 'CLOSED',
      circuitFailures: 0,
      ...(record.status === 'FAILED' && record.nextReconnectAt ? { nextReconnectAt: new Date() } : {}),
    });
    const owner = await this.leases.holder(record.id);
    if (owner) await this.commands.publish({ type: 'circuit-reset', sessionId: record.id, target: owner });
    else if (record.desiredState === 'RUNNING') await this.trigger(record, { queue: QueueName.SessionInit, reason: 'reconnect' });
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

  private async request(name: string, desired: DesiredState, action: SessionAction | null, trigger: Trigger): Promise<SessionView> {
    const record = await this.require(name);
    const updated = await this.sessions.requestState(record.id, desired, action);
    if (!updated) throw new NotFoundError(`Session "${name}" not found`);
    await this.trigger(updated, trigger);
    return this.view(updated);
  }

  /**
   * Wakes the workers up. The row already says what to do, so a failure here
   * (Redis down) is logged and counted, not returned: the reconcilers find the
   * row within SESSION_RECONCILE_INTERVAL_MS.
   */
  private async trigger(record: SessionRecord, trigger: Trigger): Promise<void> {
    try {
      if (trigger.queue === QueueName.SessionInit) {
        await this.queues.add(QueueName.SessionInit, { sessionId: record.id, reason: trigger.reason }, { deduplication: { id: `init-${trigger.reason}-${record.id}` } });
      } else {
        await this.queues.add(QueueName.SessionClose, { sessionId: record.id, action: trigger.action }, { deduplication: { id: `close-${trigger.action}-${record.id}` } });
      }
      const owner = await this.leases.holder(record.id);
      if (owner) await this.commands.publish({ type: 'kick', sessionId: record.id, target: owner });
    } catch (error) {
      this.background.record('session trigger', error, { session: record.name });
    }
  }

  private async require(name: string): Promise<SessionRecord> {
    const record = await this.sessions.findByName(name);
    if (!record) throw new NotFoundError(`Session "${name}" not found`);
    return record;
  }

  private async updateOr404(record: SessionRecord, patch: SessionPatch): Promise<SessionRecord> {
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
