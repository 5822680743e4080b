import { Injectable } from '@nestjs/common';
import { Prisma, type Session } from '../../generated/prisma/client';
import { PrismaService } from '../../infra/prisma/prisma.service';
import { LIVE_STATUSES, type DesiredState, type SessionRecord, type SessionStatus, type StoredSessionConfig } from './session.types';

export type SessionPatch = Partial<
  Pick<
    SessionRecord,
    | 'desiredState'
    | 'status'
    | 'config'
    | 'me'
    | 'lastError'
    | 'stats'
    | 'qr'
    | 'qrExpiresAt'
    | 'queuedAt'
    | 'reconnectAttempts'
    | 'nextReconnectAt'
    | 'circuitState'
    | 'circuitFailures'
  >
>;

/** The Session table. The only file of the sessions module (with the auth-state repository) that touches Prisma. */
@Injectable()
export class SessionRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** Creates a session; returns null when the name is taken (unique violation), so the caller answers 409. */
  async create(name: string, config: StoredSessionConfig, desiredState: DesiredState): Promise<SessionRecord | null> {
    try {
      return toRecord(
        await this.prisma.session.create({ data: { name, config: config as Prisma.InputJsonValue, desiredState } }),
      );
    } catch (error) {
      if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002') return null;
      throw error;
    }
  }

  async findByName(name: string): Promise<SessionRecord | null> {
    const row = await this.prisma.session.findUnique({ where: { name } });
    return row ? toRecord(row) : null;
  }

  async findById(id: string): Promise<SessionRecord | null> {
    const row = await this.prisma.session.findUnique({ where: { id } });
    return row ? toRecord(row) : null;
  }

  async findManyByIds(ids: string[]): Promise<SessionRecord[]> {
    return (await this.prisma.session.findMany({ where: { id: { in: ids } } })).map(toRecord);
  }

  async list(): Promise<SessionRecord[]> {
    return (await this.prisma.session.findMany({ orderBy: { createdAt: 'asc' } })).map(toRecord);
  }

  /** Updates a session; returns null when it no longer exists (deleted concurrently). */
  async update(id: string, patch: SessionPatch): Promise<SessionRecord | null> {
    try {
      return toRecord(await this.prisma.session.update({ where: { id }, data: toData(patch) }));
    } catch (error) {
      if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2025') return null;
      throw error;
    }
  }

  /** Conditional update: only when the row is still in one of `statuses` (avoids overwriting a newer state). */
  async updateIfStatus(id: string, statuses: SessionStatus[], patch: SessionPatch): Promise<boolean> {
    const res = await this.prisma.session.updateMany({ where: { id, status: { in: statuses } }, data: toData(patch) });
    return res.count > 0;
  }

  /** Deletes the row; auth state and queue items go with it (ON DELETE CASCADE). */
  async delete(id: string): Promise<boolean> {
    const res = await this.prisma.session.deleteMany({ where: { id } });
    return res.count > 0;
  }

  /** Names of QUEUED sessions in FIFO order (the pool's waiting list). */
  async queuedNames(): Promise<string[]> {
    const rows = await this.prisma.session.findMany({
      where: { status: 'QUEUED', desiredState: 'RUNNING' },
      orderBy: [{ queuedAt: 'asc' }, { createdAt: 'asc' }],
      select: { name: true },
    });
    return rows.map((r) => r.name);
  }

  /**
   * Sessions a worker with free slots may adopt: desired RUNNING and either
   * waiting in the pool's FIFO, or live-looking (their owner may have died),
   * or FAILED with an open circuit whose trial time has come. The caller
   * checks leases to tell orphans from sessions owned elsewhere.
   */
  async adoptionCandidates(limit: number, now: Date): Promise<SessionRecord[]> {
    const rows = await this.prisma.session.findMany({
      where: {
        desiredState: 'RUNNING',
        OR: [
          { status: { in: ['QUEUED', ...LIVE_STATUSES] } },
          { status: 'FAILED', circuitState: 'OPEN', nextReconnectAt: { lte: now } },
        ],
      },
      // Orphans first (they were running), then the FIFO.
      orderBy: [{ queuedAt: { sort: 'asc', nulls: 'first' } }, { updatedAt: 'asc' }],
      take: limit,
    });
    return rows.map(toRecord);
  }

  /** Atomically adds `by` to one counter of the stats JSON (no read-modify-write race between replicas). */
  async incrementStat(id: string, stat: 'sent' | 'received' | 'failed' | 'reconnects', by = 1): Promise<void> {
    await this.prisma.$executeRaw`
      UPDATE "Session"
      SET stats = jsonb_set(stats, ARRAY[${stat}]::text[], to_jsonb(COALESCE((stats->>${stat})::int, 0) + ${by}::int)),
          "updatedAt" = now()
      WHERE id = ${id}::uuid`;
  }

  async countByStatus(): Promise<Record<string, number>> {
    const rows = await this.prisma.session.groupBy({ by: ['status'], _count: { _all: true } });
    return Object.fromEntries(rows.map((r) => [r.status, r._count._all]));
  }

  async countByCircuit(): Promise<Record<string, number>> {
    const rows = await this.prisma.session.groupBy({ by: ['circuitState'], _count: { _all: true } });
    return Object.fromEntries(rows.map((r) => [r.circuitState, r._count._all]));
  }
}

function toData(patch: SessionPatch): Prisma.SessionUpdateInput {
  const { config, me, stats, ...rest } = patch;
  return {
    ...rest,
    ...(config !== undefined ? { config: config as Prisma.InputJsonValue } : {}),
    ...(me !== undefined ? { me: me === null ? Prisma.DbNull : (me as unknown as Prisma.InputJsonValue) } : {}),
    ...(stats !== undefined ? { stats: stats as Prisma.InputJsonValue } : {}),
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
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}
