import { Injectable } from '@nestjs/common';
import { Prisma, type Session } from '../../generated/prisma/client';
import { PrismaService } from '../../infra/prisma/prisma.service';
import { dbClient, type DbTransaction } from '../../infra/prisma/transaction';
import {
  EMPTY_STATS,
  LIVE_STATUSES,
  type DesiredState,
  type SessionAction,
  type SessionRecord,
  type SessionStatus,
  type StatsChange,
  type StoredSessionConfig,
} from './session.types';

export type SessionPatch = Partial<
  Pick<
    SessionRecord,
    | 'desiredState'
    | 'status'
    | 'config'
    | 'me'
    | 'lastError'
    | 'qr'
    | 'qrExpiresAt'
    | 'queuedAt'
    | 'reconnectAttempts'
    | 'nextReconnectAt'
    | 'circuitState'
    | 'circuitFailures'
  >
>;

/** Who may write: the lease holder with its epoch, or anybody while the epoch is still the one read. */
export interface Fence {
  id: string;
  epoch: number;
}

const isKnown = (error: unknown, code: string) => error instanceof Prisma.PrismaClientKnownRequestError && error.code === code;

/**
 * The Session table. The only file of the sessions module (with the
 * auth-state repository) that touches Prisma. Worker writes are fenced by the
 * lease epoch (`WHERE id AND "leaseEpoch"`): a worker whose lease expired while
 * it stalled changes nothing and learns it lost the session.
 */
@Injectable()
export class SessionRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** Creates a session; returns null when the name is taken (unique violation), so the caller answers 409. */
  async create(name: string, config: StoredSessionConfig, desiredState: DesiredState, tx?: DbTransaction): Promise<SessionRecord | null> {
    try {
      return toRecord(await dbClient(this.prisma, tx).session.create({ data: { name, config: config as Prisma.InputJsonValue, desiredState } }));
    } catch (error) {
      if (isKnown(error, 'P2002')) return null;
      throw error;
    }
  }

  /** A session the API can see (not being deleted). */
  async findByName(name: string): Promise<SessionRecord | null> {
    const row = await this.prisma.session.findFirst({ where: { name, deletedAt: null } });
    return row ? toRecord(row) : null;
  }

  /** Any row, including one being deleted (workers still have to finish it). */
  async findById(id: string, tx?: DbTransaction): Promise<SessionRecord | null> {
    const row = await dbClient(this.prisma, tx).session.findUnique({ where: { id } });
    return row ? toRecord(row) : null;
  }

  async findManyByIds(ids: string[]): Promise<SessionRecord[]> {
    if (!ids.length) return [];
    return (await this.prisma.session.findMany({ where: { id: { in: ids } } })).map(toRecord);
  }

  async list(): Promise<SessionRecord[]> {
    return (await this.prisma.session.findMany({ where: { deletedAt: null }, orderBy: { createdAt: 'asc' } })).map(toRecord);
  }

  /** API-side update of a visible session (config, circuit reset); null when it does not exist. */
  async update(id: string, patch: SessionPatch, tx?: DbTransaction): Promise<SessionRecord | null> {
    try {
      return toRecord(await dbClient(this.prisma, tx).session.update({ where: { id, deletedAt: null }, data: toData(patch) }));
    } catch (error) {
      if (isKnown(error, 'P2025')) return null;
      throw error;
    }
  }

  /**
   * Records what the operator wants: the desired state and, optionally, a
   * one-shot action. Actions do not erase stronger ones still pending (DELETE >
   * LOGOUT > RESTART): "logout, then start" logs out first, then shows a new QR.
   * Stopping drops a pending RESTART (moot); starting a stopped session zeroes
   * its stats. Returns null for an unknown session.
   */
  async requestState(id: string, desiredState: DesiredState, action: SessionAction | null): Promise<SessionRecord | null> {
    const count = await this.prisma.$executeRaw`
      UPDATE "Session" SET
        "desiredState" = ${desiredState}::"DesiredState",
        "pendingAction" = CASE
          WHEN ${action}::text IS NULL THEN
            CASE WHEN ${desiredState} = 'STOPPED' AND "pendingAction" = 'RESTART' THEN NULL ELSE "pendingAction" END
          WHEN "pendingAction" = 'DELETE' THEN 'DELETE'::"SessionAction"
          WHEN "pendingAction" = 'LOGOUT' AND ${action}::text = 'RESTART' THEN 'LOGOUT'::"SessionAction"
          ELSE ${action}::"SessionAction"
        END,
        "actionSeq" = "actionSeq" + CASE WHEN ${action}::text IS NULL THEN 0 ELSE 1 END,
        -- Stats count from the session's last start: a start of a stopped session zeroes them.
        stats = CASE WHEN ${desiredState} = 'RUNNING' AND "desiredState" = 'STOPPED' THEN ${JSON.stringify(EMPTY_STATS)}::jsonb ELSE stats END,
        "reconnectAttempts" = CASE WHEN ${desiredState} = 'RUNNING' AND "desiredState" = 'STOPPED' THEN 0 ELSE "reconnectAttempts" END,
        "updatedAt" = (now() AT TIME ZONE 'UTC')
      WHERE id = ${id}::uuid AND "deletedAt" IS NULL`;
    return count ? this.findById(id) : null;
  }

  /**
   * DELETE: hides the row at once and frees its name (renamed with its id), and
   * leaves the unlink + removal to a worker. False when it did not exist.
   * Renaming changes a unique key, so this UPDATE locks the row FOR UPDATE:
   * it waits for the work holding the row FOR KEY SHARE (`lockVisible`, a
   * message being accepted) and that work then sees the row deleted.
   */
  async markDeleted(id: string, tx?: DbTransaction): Promise<boolean> {
    const count = await dbClient(this.prisma, tx).$executeRaw`
      UPDATE "Session" SET
        "deletedAt" = (now() AT TIME ZONE 'UTC'), name = name || '~deleted~' || id::text,
        "desiredState" = 'STOPPED', "pendingAction" = 'DELETE', "actionSeq" = "actionSeq" + 1, "updatedAt" = (now() AT TIME ZONE 'UTC')
      WHERE id = ${id}::uuid AND "deletedAt" IS NULL`;
    return count > 0;
  }

  /**
   * Locks a visible session's row FOR KEY SHARE until the transaction ends: work
   * that hangs off the session (a message accepted) commits before a DELETE
   * (which updates the row) or sees it deleted. False when deleted or unknown.
   */
  async lockVisible(tx: DbTransaction, id: string): Promise<boolean> {
    const rows = await dbClient(this.prisma, tx).$queryRaw<Array<{ id: string }>>`
      SELECT id::text AS id FROM "Session" WHERE id = ${id}::uuid AND "deletedAt" IS NULL FOR KEY SHARE`;
    return rows.length > 0;
  }

  /** Takes ownership: bumps the fencing epoch and returns the row as the new owner sees it. */
  async bumpEpoch(id: string): Promise<SessionRecord | null> {
    try {
      return toRecord(await this.prisma.session.update({ where: { id }, data: { leaseEpoch: { increment: 1 } } }));
    } catch (error) {
      if (isKnown(error, 'P2025')) return null;
      throw error;
    }
  }

  /**
   * A fenced write: applies only while the row's epoch is `fence.epoch`.
   * Returns the updated row, or null when the epoch moved on (another owner)
   * or the row is gone.
   */
  async writeFenced(fence: Fence, patch: SessionPatch, stats?: StatsChange, tx?: DbTransaction): Promise<SessionRecord | null> {
    const db = dbClient(this.prisma, tx);
    const data = toData(patch);
    if (stats?.reset) data.stats = { ...EMPTY_STATS, connectedSince: stats.connectedSince ?? null } as Prisma.InputJsonValue;
    let row: Session;
    try {
      row = await db.session.update({ where: { id: fence.id, leaseEpoch: fence.epoch }, data });
    } catch (error) {
      if (isKnown(error, 'P2025')) return null;
      throw error;
    }
    if (stats && !stats.reset && stats.connectedSince !== undefined) {
      // A targeted jsonb_set: counters incremented meanwhile by other code are kept.
      const value = stats.connectedSince;
      const rows = await db.$queryRaw<Array<{ stats: Prisma.JsonValue }>>`
        UPDATE "Session" SET stats = jsonb_set(stats, '{connectedSince}', ${value === null ? 'null' : JSON.stringify(value)}::jsonb)
        WHERE id = ${fence.id}::uuid AND "leaseEpoch" = ${fence.epoch}
        RETURNING stats`;
      if (rows[0]) row = { ...row, stats: rows[0].stats };
    }
    return toRecord(row);
  }

  /** Clears the pending action once done, unless a newer one was requested meanwhile (seq moved). */
  async clearAction(fence: Fence, seq: number, tx?: DbTransaction): Promise<void> {
    await dbClient(this.prisma, tx).session.updateMany({ where: { id: fence.id, leaseEpoch: fence.epoch, actionSeq: seq }, data: { pendingAction: null } });
  }

  /** Removes a deleted session (auth state and queue items cascade), fenced. */
  async deleteFenced(fence: Fence): Promise<boolean> {
    const res = await this.prisma.session.deleteMany({ where: { id: fence.id, leaseEpoch: fence.epoch } });
    return res.count > 0;
  }

  /**
   * A write by a worker that does not own the session (QUEUED mark, stop
   * settle), applied only while nobody took ownership since `fence.epoch` was
   * read and the status is still one of `statuses`.
   */
  async writeUnowned(fence: Fence, statuses: readonly SessionStatus[], patch: SessionPatch, tx?: DbTransaction): Promise<SessionRecord | null> {
    const res = await dbClient(this.prisma, tx).session.updateMany({
      where: { id: fence.id, leaseEpoch: fence.epoch, status: { in: [...statuses] } },
      data: toData(patch) as Prisma.SessionUpdateManyMutationInput,
    });
    return res.count ? this.findById(fence.id, tx) : null;
  }

  /** Names of QUEUED sessions in FIFO order (the pool's waiting list). */
  async queuedNames(): Promise<string[]> {
    const rows = await this.prisma.session.findMany({
      where: { status: 'QUEUED', desiredState: 'RUNNING', deletedAt: null },
      orderBy: [{ queuedAt: 'asc' }, { id: 'asc' }],
      select: { name: true },
    });
    return rows.map((r) => r.name);
  }

  /**
   * One page of sessions that need a worker, other than QUEUED ones and those
   * in `excludeIds` (live here), in id order after `afterId`: desired RUNNING
   * (whatever their status says, except a FAILED one whose circuit trial is not
   * due), desired STOPPED but still looking live, and pending logouts/deletes.
   * The caller tells orphans from sessions owned elsewhere by their leases.
   */
  async needingWork(excludeIds: string[], afterId: string | null, limit: number, now: Date): Promise<SessionRecord[]> {
    const rows = await this.prisma.session.findMany({
      where: {
        id: { notIn: excludeIds, ...(afterId ? { gt: afterId } : {}) },
        OR: [
          { pendingAction: { in: ['LOGOUT', 'DELETE'] } },
          { desiredState: 'STOPPED', status: { in: ['QUEUED', ...LIVE_STATUSES] } },
          { desiredState: 'RUNNING', status: { not: 'QUEUED' }, NOT: { status: 'FAILED', circuitState: 'OPEN', nextReconnectAt: { not: null, gt: now } } },
        ],
      },
      orderBy: { id: 'asc' },
      take: limit,
    });
    return rows.map(toRecord);
  }

  /**
   * One page of the pool's FIFO (QUEUED, desired RUNNING) in (queuedAt, id)
   * order, strictly after `after` (the last row of the previous page as it was
   * read: it may have been adopted since). Keyset paging in SQL.
   */
  async queuedPage(excludeIds: string[], after: Pick<SessionRecord, 'id' | 'queuedAt'> | null, limit: number): Promise<SessionRecord[]> {
    // PostgreSQL sorts NULLs last in ascending order: after a NULL only NULLs with a greater id follow.
    const afterClause: Prisma.SessionWhereInput | undefined = !after
      ? undefined
      : after.queuedAt === null
        ? { queuedAt: null, id: { gt: after.id } }
        : { OR: [{ queuedAt: { gt: after.queuedAt } }, { queuedAt: after.queuedAt, id: { gt: after.id } }, { queuedAt: null }] };
    const rows = await this.prisma.session.findMany({
      where: { status: 'QUEUED', desiredState: 'RUNNING', deletedAt: null, id: { notIn: excludeIds }, ...(afterClause ? { AND: [afterClause] } : {}) },
      orderBy: [{ queuedAt: { sort: 'asc', nulls: 'last' } }, { id: 'asc' }],
      take: limit,
    });
    return rows.map(toRecord);
  }

  /** Atomically adds `by` to one counter of the stats JSON (no read-modify-write race between replicas). */
  async incrementStat(id: string, stat: 'sent' | 'received' | 'failed' | 'reconnects', by = 1, tx?: DbTransaction): Promise<void> {
    await dbClient(this.prisma, tx).$executeRaw`
      UPDATE "Session"
      SET stats = jsonb_set(stats, ARRAY[${stat}]::text[], to_jsonb(COALESCE((stats->>${stat})::int, 0) + ${by}::int)),
          "updatedAt" = (now() AT TIME ZONE 'UTC')
      WHERE id = ${id}::uuid`;
  }

  /**
   * `incrementStat` for several sessions in one statement (a batch of received messages). The
   * rows are locked in id order first, so two batches over the same sessions queue on each other
   * instead of deadlocking (an UPDATE ... FROM locks in whatever order its join produces). FOR NO
   * KEY UPDATE, the lock a plain UPDATE takes: FOR UPDATE would also block the foreign-key checks
   * (KEY SHARE) of rows inserted for the session, such as its events, and so deadlock with a
   * transaction that holds the session's event counter and inserts an event.
   */
  async incrementStatMany(stat: 'sent' | 'received' | 'failed' | 'reconnects', counts: Array<{ id: string; by: number }>, tx?: DbTransaction): Promise<void> {
    if (!counts.length) return;
    await dbClient(this.prisma, tx).$executeRaw`
      WITH locked AS MATERIALIZED (
        SELECT id FROM "Session" WHERE id = ANY(${counts.map((c) => c.id)}::uuid[]) ORDER BY id FOR NO KEY UPDATE
      )
      UPDATE "Session" s
      SET stats = jsonb_set(s.stats, ARRAY[${stat}]::text[], to_jsonb(COALESCE((s.stats->>${stat})::int, 0) + v.by)),
          "updatedAt" = (now() AT TIME ZONE 'UTC')
      FROM locked JOIN unnest(${counts.map((c) => c.id)}::uuid[], ${counts.map((c) => c.by)}::int[]) AS v(id, by) ON v.id = locked.id
      WHERE s.id = locked.id`;
  }

  async countByStatus(): Promise<Record<string, number>> {
    const rows = await this.prisma.session.groupBy({ by: ['status'], where: { deletedAt: null }, _count: { _all: true } });
    return Object.fromEntries(rows.map((r) => [r.status, r._count._all]));
  }

  async countByCircuit(): Promise<Record<string, number>> {
    const rows = await this.prisma.session.groupBy({ by: ['circuitState'], where: { deletedAt: null }, _count: { _all: true } });
    return Object.fromEntries(rows.map((r) => [r.circuitState, r._count._all]));
  }
}

function toData(patch: SessionPatch): Prisma.SessionUpdateInput {
  const { config, me, ...rest } = patch;
  return {
    ...rest,
    ...(config !== undefined ? { config: config as Prisma.InputJsonValue } : {}),
    ...(me !== undefined ? { me: me === null ? Prisma.DbNull : (me as unknown as Prisma.InputJsonValue) } : {}),
  };
}

function toRecord(row: Session): SessionRecord {
  return {
    id: row.id,
    name: row.name,
    desiredState: row.desiredState,
    status: row.status,
    config: (row.config ?? {}) as StoredSessionConfig,
    me: (row.me ?? null) as SessionRecord['me'],
    lastError: row.lastError,
    stats: (row.stats ?? {}) as SessionRecord['stats'],
    qr: row.qr,
    qrExpiresAt: row.qrExpiresAt,
    queuedAt: row.queuedAt,
    reconnectAttempts: row.reconnectAttempts,
    nextReconnectAt: row.nextReconnectAt,
    circuitState: row.circuitState,
    circuitFailures: row.circuitFailures,
    leaseEpoch: row.leaseEpoch,
    pendingAction: row.pendingAction,
    actionSeq: row.actionSeq,
    deletedAt: row.deletedAt,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}
