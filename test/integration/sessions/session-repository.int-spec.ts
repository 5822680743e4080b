import { randomUUID } from 'node:crypto';
import { PrismaService } from '../../../src/infra/prisma/prisma.service';
import { TransactionRunner } from '../../../src/infra/prisma/transaction';
import { SessionRepository, type SessionPatch } from '../../../src/modules/sessions/session.repository';
import {
  ALL_SESSION_STATUSES,
  EMPTY_STATS,
  LIVE_STATUSES,
  type DesiredState,
  type SessionAction,
  type SessionRecord,
  type SessionStatus,
} from '../../../src/modules/sessions/session.types';
import { workFor } from '../../../src/modules/sessions/runtime/session-work';
import { query } from '../../helpers/db-query';
import { createTestEnv, type TestEnv } from '../../helpers/test-env';

describe('SessionRepository (PostgreSQL)', () => {
  let env: TestEnv;
  let prisma: PrismaService;
  let repo: SessionRepository;

  beforeAll(async () => {
    env = await createTestEnv();
    prisma = new PrismaService(env.config);
    repo = new SessionRepository(prisma);
  });
  afterAll(async () => {
    await prisma?.disconnect();
    await env?.cleanup();
  });

  const sql = <T = Record<string, unknown>>(text: string, params: unknown[] = []) => query<T>(env.databaseUrl, text, params);
  const uniqueName = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;

  /** A new row (epoch 0), shaped with a fenced write when `patch` is given. */
  async function make(desired: DesiredState, patch: SessionPatch = {}, prefix = 's'): Promise<SessionRecord> {
    const created = await repo.create(uniqueName(prefix), {}, desired);
    expect(created).not.toBeNull();
    if (!Object.keys(patch).length) return created!;
    const shaped = await repo.writeFenced({ id: created!.id, epoch: created!.leaseEpoch }, patch);
    expect(shaped).not.toBeNull();
    return shaped!;
  }

  const reload = async (id: string) => (await repo.findById(id))!;
  const setPendingAction = (id: string, action: SessionAction | null) =>
    sql(`UPDATE "Session" SET "pendingAction" = $2::"SessionAction" WHERE id = $1::uuid`, [id, action]);

  describe('create', () => {
    it('returns the row, and null for a taken name', async () => {
      const name = uniqueName('create');
      const row = await repo.create(name, { rateLimitPerMinute: 7 }, 'RUNNING');
      expect(row).toMatchObject({ name, desiredState: 'RUNNING', status: 'STOPPED', config: { rateLimitPerMinute: 7 }, leaseEpoch: 0, actionSeq: 0 });
      expect(await repo.create(name, {}, 'STOPPED')).toBeNull();
    });
  });

  describe('writeFenced / bumpEpoch', () => {
    it('applies with the current epoch and returns the updated row', async () => {
      const row = await make('RUNNING');
      const written = await repo.writeFenced({ id: row.id, epoch: row.leaseEpoch }, { status: 'WORKING', lastError: 'x', me: { id: 'me@s', phone: '1', pushName: null } });
      expect(written).toMatchObject({ id: row.id, status: 'WORKING', lastError: 'x', me: { id: 'me@s', phone: '1', pushName: null } });
      expect(await reload(row.id)).toMatchObject({ status: 'WORKING', lastError: 'x' });
    });

    it('is a no-op returning null with a stale epoch (after bumpEpoch): a stale owner cannot write over the new owner', async () => {
      const row = await make('RUNNING', { status: 'WORKING' });
      const stale = { id: row.id, epoch: row.leaseEpoch };
      const taken = await repo.bumpEpoch(row.id);
      expect(taken!.leaseEpoch).toBe(row.leaseEpoch + 1);
      // the new owner writes its status
      const ownerWrite = await repo.writeFenced({ id: row.id, epoch: taken!.leaseEpoch }, { status: 'SCAN_QR', qr: 'new-owner-qr' });
      expect(ownerWrite?.status).toBe('SCAN_QR');
      const before = await reload(row.id);

      expect(await repo.writeFenced(stale, { status: 'CONFLICT', lastError: 'stale owner', qr: null })).toBeNull();
      expect(await repo.writeFenced(stale, {}, { reset: true })).toBeNull();
      expect(await repo.writeFenced(stale, {}, { connectedSince: new Date().toISOString() })).toBeNull();
      expect(await reload(row.id)).toEqual(before);
    });

    it('returns null for an unknown id', async () => {
      expect(await repo.writeFenced({ id: randomUUID(), epoch: 0 }, { status: 'WORKING' })).toBeNull();
      expect(await repo.bumpEpoch(randomUUID())).toBeNull();
    });

    it('bumpEpoch increments by exactly one per call, also for 20 concurrent calls', async () => {
      const row = await make('RUNNING');
      const one = await repo.bumpEpoch(row.id);
      expect(one!.leaseEpoch).toBe(row.leaseEpoch + 1);
      const start = one!.leaseEpoch;

      const results = await Promise.all(Array.from({ length: 20 }, () => repo.bumpEpoch(row.id)));
      const epochs = results.map((r) => r!.leaseEpoch).sort((a, b) => a - b);
      expect(new Set(epochs).size).toBe(20);
      expect(epochs).toEqual(Array.from({ length: 20 }, (_, i) => start + 1 + i));
      expect((await reload(row.id)).leaseEpoch).toBe(start + 20);
    });
  });

  describe('stats', () => {
    it('a connectedSince write keeps counters incremented before and concurrently', async () => {
      const row = await make('RUNNING', { status: 'WORKING' }, 'stats');
      const fence = { id: row.id, epoch: row.leaseEpoch };
      await repo.writeFenced(fence, {}, { reset: true });
      for (let i = 0; i < 3; i++) await repo.incrementStat(row.id, 'received');
      await repo.incrementStat(row.id, 'failed', 2);

      const N = 40;
      const written = Array.from({ length: 6 }, (_, i) => new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString());
      const ops: Array<Promise<unknown>> = [];
      for (let i = 0; i < N; i++) {
        ops.push(repo.incrementStat(row.id, 'sent'));
        if (i % 7 === 3) ops.push(repo.writeFenced(fence, { status: 'WORKING' }, { connectedSince: written[ops.length % written.length] }));
      }
      const results = await Promise.all(ops);
      const fencedResults = results.filter((r): r is SessionRecord => r !== undefined);
      expect(fencedResults.length).toBeGreaterThanOrEqual(5);
      for (const r of fencedResults) expect(written).toContain(r.stats.connectedSince);

      const stats = (await reload(row.id)).stats;
      expect(stats.sent).toBe(N);
      expect(stats.received).toBe(3);
      expect(stats.failed).toBe(2);
      expect(written).toContain(stats.connectedSince);
    });

    it('connectedSince: null is written as null and keeps counters', async () => {
      const row = await make('RUNNING', {}, 'stats-null');
      const fence = { id: row.id, epoch: row.leaseEpoch };
      await repo.writeFenced(fence, {}, { connectedSince: '2026-01-01T00:00:00.000Z' });
      await repo.incrementStat(row.id, 'sent', 5);
      const written = await repo.writeFenced(fence, {}, { connectedSince: null });
      expect(written!.stats).toMatchObject({ connectedSince: null, sent: 5 });
      expect((await reload(row.id)).stats).toMatchObject({ connectedSince: null, sent: 5 });
    });

    it('reset zeroes every counter, and can set connectedSince at the same time', async () => {
      const row = await make('RUNNING', {}, 'stats-reset');
      const fence = { id: row.id, epoch: row.leaseEpoch };
      for (const stat of ['sent', 'received', 'failed', 'reconnects'] as const) await repo.incrementStat(row.id, stat, 4);
      await repo.writeFenced(fence, {}, { connectedSince: '2026-01-01T00:00:00.000Z' });
      expect((await reload(row.id)).stats).toMatchObject({ sent: 4, received: 4, failed: 4, reconnects: 4 });

      const reset = await repo.writeFenced(fence, { status: 'STARTING' }, { reset: true });
      expect(reset!.stats).toEqual(EMPTY_STATS);
      expect((await reload(row.id)).stats).toEqual(EMPTY_STATS);

      await repo.incrementStat(row.id, 'sent', 9);
      const since = '2026-02-02T02:02:02.000Z';
      const resetWithSince = await repo.writeFenced(fence, { status: 'WORKING' }, { reset: true, connectedSince: since });
      expect(resetWithSince!.stats).toEqual({ ...EMPTY_STATS, connectedSince: since });
      expect(await reload(row.id)).toMatchObject({ status: 'WORKING', stats: { ...EMPTY_STATS, connectedSince: since } });
    });
  });

  describe('transactions', () => {
    it('writeFenced, incrementStat and clearAction use the caller transaction: a throw rolls every write back', async () => {
      const row = await make('RUNNING', { status: 'WORKING' }, 'tx');
      await repo.requestState(row.id, 'RUNNING', 'RESTART');
      const before = await reload(row.id);
      expect(before.pendingAction).toBe('RESTART');
      const fence = { id: row.id, epoch: before.leaseEpoch };
      const tx = new TransactionRunner(prisma);

      let seenOutside: SessionRecord | null = null;
      await expect(
        tx.run(async (t) => {
          const written = await repo.writeFenced(fence, { status: 'RECONNECTING', lastError: 'inside tx' }, { connectedSince: '2026-03-03T00:00:00.000Z' }, t);
          expect(written).toMatchObject({ status: 'RECONNECTING', lastError: 'inside tx', stats: { connectedSince: '2026-03-03T00:00:00.000Z' } });
          await repo.incrementStat(row.id, 'sent', 1, t);
          await repo.clearAction(fence, before.actionSeq, t);
          expect(await repo.findById(row.id, t)).toMatchObject({ status: 'RECONNECTING', pendingAction: null });
          // not committed: another connection still sees the old row
          seenOutside = await repo.findById(row.id);
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');

      expect(seenOutside).toEqual(before);
      expect(await reload(row.id)).toEqual(before);
    });

    it('commits when the callback succeeds', async () => {
      const row = await make('RUNNING', {}, 'tx-ok');
      await new TransactionRunner(prisma).run((t) => repo.writeFenced({ id: row.id, epoch: row.leaseEpoch }, { status: 'WORKING' }, { reset: true }, t));
      expect(await reload(row.id)).toMatchObject({ status: 'WORKING', stats: EMPTY_STATS });
    });
  });

  describe('clearAction', () => {
    it('clears pendingAction only while actionSeq still equals seq (and the epoch matches)', async () => {
      const row = await make('RUNNING', {}, 'clear');
      const first = await repo.requestState(row.id, 'RUNNING', 'RESTART');
      const second = await repo.requestState(row.id, 'RUNNING', 'LOGOUT');
      expect(second).toMatchObject({ pendingAction: 'LOGOUT', actionSeq: first!.actionSeq + 1 });
      const fence = { id: row.id, epoch: row.leaseEpoch };

      await repo.clearAction(fence, first!.actionSeq); // the RESTART finished, but a LOGOUT came meanwhile
      expect((await reload(row.id)).pendingAction).toBe('LOGOUT');

      await repo.clearAction({ id: row.id, epoch: row.leaseEpoch + 1 }, second!.actionSeq); // wrong epoch
      expect((await reload(row.id)).pendingAction).toBe('LOGOUT');

      await repo.clearAction(fence, second!.actionSeq);
      expect(await reload(row.id)).toMatchObject({ pendingAction: null, actionSeq: second!.actionSeq });
    });
  });

  describe('requestState', () => {
    it('returns null for an unknown session', async () => {
      expect(await repo.requestState(randomUUID(), 'RUNNING', null)).toBeNull();
    });

    it('never replaces a pending DELETE', async () => {
      const row = await make('STOPPED', {}, 'req-del');
      await setPendingAction(row.id, 'DELETE');
      for (const [desired, action] of [
        ['RUNNING', 'LOGOUT'],
        ['RUNNING', 'RESTART'],
        ['STOPPED', null],
        ['STOPPED', 'RESTART'],
      ] as Array<[DesiredState, SessionAction | null]>) {
        const res = await repo.requestState(row.id, desired, action);
        expect({ desired, action, pending: res?.pendingAction }).toEqual({ desired, action, pending: 'DELETE' });
      }
    });

    it('LOGOUT is not replaced by RESTART; RESTART is replaced by LOGOUT', async () => {
      const a = await make('RUNNING', {}, 'req-lo');
      expect((await repo.requestState(a.id, 'RUNNING', 'LOGOUT'))!.pendingAction).toBe('LOGOUT');
      expect((await repo.requestState(a.id, 'RUNNING', 'RESTART'))!.pendingAction).toBe('LOGOUT');
      expect((await repo.requestState(a.id, 'RUNNING', null))!.pendingAction).toBe('LOGOUT');

      const b = await make('RUNNING', {}, 'req-re');
      expect((await repo.requestState(b.id, 'RUNNING', 'RESTART'))!.pendingAction).toBe('RESTART');
      expect((await repo.requestState(b.id, 'RUNNING', null))!.pendingAction).toBe('RESTART'); // only stopping drops it
      expect((await repo.requestState(b.id, 'RUNNING', 'LOGOUT'))!.pendingAction).toBe('LOGOUT');
    });

    it('stopping drops a pending RESTART but keeps a LOGOUT', async () => {
      const a = await make('RUNNING', {}, 'stop-re');
      await repo.requestState(a.id, 'RUNNING', 'RESTART');
      expect(await repo.requestState(a.id, 'STOPPED', null)).toMatchObject({ desiredState: 'STOPPED', pendingAction: null });

      const b = await make('RUNNING', {}, 'stop-lo');
      await repo.requestState(b.id, 'RUNNING', 'LOGOUT');
      expect(await repo.requestState(b.id, 'STOPPED', null)).toMatchObject({ desiredState: 'STOPPED', pendingAction: 'LOGOUT' });
    });

    it('actionSeq rises by one per action request and not for a null action', async () => {
      const row = await make('RUNNING', {}, 'seq');
      const seq0 = row.actionSeq;
      expect((await repo.requestState(row.id, 'RUNNING', null))!.actionSeq).toBe(seq0);
      expect((await repo.requestState(row.id, 'RUNNING', 'RESTART'))!.actionSeq).toBe(seq0 + 1);
      expect((await repo.requestState(row.id, 'RUNNING', 'LOGOUT'))!.actionSeq).toBe(seq0 + 2);
      expect((await repo.requestState(row.id, 'RUNNING', 'RESTART'))!.actionSeq).toBe(seq0 + 3); // not applied (LOGOUT stays), still counted
      expect((await repo.requestState(row.id, 'STOPPED', null))!.actionSeq).toBe(seq0 + 3);
      expect((await reload(row.id)).actionSeq).toBe(seq0 + 3);
    });

    it('starting a desired-STOPPED session zeroes stats and reconnectAttempts; RUNNING -> RUNNING keeps them', async () => {
      const row = await make('STOPPED', { reconnectAttempts: 4 }, 'start');
      await repo.incrementStat(row.id, 'sent', 3);
      await repo.writeFenced({ id: row.id, epoch: row.leaseEpoch }, {}, { connectedSince: '2026-01-01T00:00:00.000Z' });

      const started = await repo.requestState(row.id, 'RUNNING', null);
      expect(started).toMatchObject({ desiredState: 'RUNNING', reconnectAttempts: 0, stats: EMPTY_STATS });

      await repo.incrementStat(row.id, 'sent', 2);
      await repo.writeFenced({ id: row.id, epoch: row.leaseEpoch }, { reconnectAttempts: 3 });
      const again = await repo.requestState(row.id, 'RUNNING', 'RESTART');
      expect(again).toMatchObject({ desiredState: 'RUNNING', reconnectAttempts: 3, stats: { sent: 2 } });
      // STOPPED -> STOPPED keeps them too
      await repo.requestState(row.id, 'STOPPED', null);
      expect(await repo.requestState(row.id, 'STOPPED', null)).toMatchObject({ reconnectAttempts: 3, stats: { sent: 2 } });
    });

    it('does not touch a session being deleted (returns null)', async () => {
      const row = await make('RUNNING', { status: 'WORKING' }, 'req-gone');
      expect(await repo.markDeleted(row.id)).toBe(true);
      const before = await reload(row.id);
      expect(await repo.requestState(row.id, 'RUNNING', 'RESTART')).toBeNull();
      expect(await repo.requestState(row.id, 'RUNNING', null)).toBeNull();
      expect(await reload(row.id)).toEqual(before);
    });
  });

  describe('markDeleted', () => {
    it('hides the row, frees its name at once, and leaves DELETE pending with desired STOPPED', async () => {
      const name = uniqueName('del');
      const row = (await repo.create(name, {}, 'RUNNING'))!;
      await repo.writeFenced({ id: row.id, epoch: 0 }, { status: 'WORKING' });
      const stamp = Date.now();

      expect(await repo.markDeleted(row.id)).toBe(true);
      expect(await repo.findByName(name)).toBeNull();
      expect((await repo.list()).map((r) => r.id)).not.toContain(row.id);

      const again = await repo.create(name, {}, 'STOPPED');
      expect(again).not.toBeNull();
      expect(again!.id).not.toBe(row.id);
      expect((await repo.findByName(name))!.id).toBe(again!.id);

      const deleted = await repo.findById(row.id);
      expect(deleted).not.toBeNull();
      expect(deleted!.name).not.toBe(name);
      expect(deleted!.name).toContain(row.id);
      expect(deleted).toMatchObject({ pendingAction: 'DELETE', desiredState: 'STOPPED', actionSeq: row.actionSeq + 1 });
      expect(deleted!.deletedAt).toBeInstanceOf(Date);
      expect(Math.abs(deleted!.deletedAt!.getTime() - stamp)).toBeLessThan(60_000);

      expect(await repo.markDeleted(row.id)).toBe(false);
      expect(await repo.markDeleted(randomUUID())).toBe(false);
    });

    it('stores deletedAt in UTC even when the database session time zone is not UTC', async () => {
      // The column is timestamp without time zone holding UTC: a bare now() would store local time.
      const url = new URL(env.databaseUrl);
      url.searchParams.set('options', '-c TimeZone=Asia/Tokyo');
      const tokyo = new PrismaService({ ...env.config, DATABASE_URL: url.toString() });
      try {
        const [tz] = await tokyo.$queryRaw<Array<{ tz: string }>>`SELECT current_setting('TimeZone') AS tz`;
        expect(tz!.tz).toBe('Asia/Tokyo');
        const tokyoRepo = new SessionRepository(tokyo);
        const row = (await tokyoRepo.create(uniqueName('del-tz'), {}, 'RUNNING'))!;
        const stamp = Date.now();
        expect(await tokyoRepo.markDeleted(row.id)).toBe(true);
        for (const r of [tokyoRepo, repo]) {
          const deleted = (await r.findById(row.id))!;
          expect(Math.abs(deleted.deletedAt!.getTime() - stamp)).toBeLessThan(60_000);
          expect(Math.abs(deleted.updatedAt.getTime() - stamp)).toBeLessThan(60_000);
        }
        const [raw] = await sql<{ ok: boolean }>(
          `SELECT abs(extract(epoch FROM ("deletedAt" - (now() AT TIME ZONE 'UTC')))) < 60 AS ok FROM "Session" WHERE id = $1::uuid`,
          [row.id],
        );
        expect(raw!.ok).toBe(true);
      } finally {
        await tokyo.disconnect();
      }
    });
  });

  describe('writeUnowned', () => {
    it('applies only while both the epoch and the status match', async () => {
      const row = await make('RUNNING', { status: 'STOPPED' }, 'unowned');
      const fence = { id: row.id, epoch: row.leaseEpoch };
      const queuedAt = new Date(Date.UTC(2026, 0, 1));

      const queued = await repo.writeUnowned(fence, ['STOPPED', 'FAILED'], { status: 'QUEUED', queuedAt });
      expect(queued).toMatchObject({ status: 'QUEUED', queuedAt });

      // status no longer among the expected ones
      expect(await repo.writeUnowned(fence, ['STOPPED', 'FAILED'], { status: 'STOPPED', queuedAt: null })).toBeNull();
      expect(await reload(row.id)).toMatchObject({ status: 'QUEUED', queuedAt });

      // somebody took ownership since the epoch was read
      await repo.bumpEpoch(row.id);
      const before = await reload(row.id);
      expect(await repo.writeUnowned(fence, ['QUEUED'], { status: 'STOPPED', queuedAt: null })).toBeNull();
      expect(await reload(row.id)).toEqual(before);

      // with the new epoch and the right status it applies
      expect(await repo.writeUnowned({ id: row.id, epoch: before.leaseEpoch }, ['QUEUED'], { status: 'STOPPED', queuedAt: null })).toMatchObject({
        status: 'STOPPED',
        queuedAt: null,
      });
    });
  });

  describe('needingWork', () => {
    beforeEach(async () => {
      await sql(`DELETE FROM "Session"`);
    });

    const ids = (rows: SessionRecord[]) => rows.map((r) => r.id).sort();

    it('selects desired-RUNNING rows (but QUEUED), desired-STOPPED rows still looking live, and pending LOGOUT/DELETE', async () => {
      const expected: string[] = [];
      const notExpected: string[] = [];
      const label = new Map<string, string>();
      const add = (row: SessionRecord, yes: boolean, what: string) => {
        (yes ? expected : notExpected).push(row.id);
        label.set(row.id, what);
      };

      for (const status of ALL_SESSION_STATUSES as SessionStatus[]) {
        add(await make('RUNNING', { status }), status !== 'QUEUED', `RUNNING/${status}`);
        add(await make('STOPPED', { status }), status === 'QUEUED' || LIVE_STATUSES.includes(status), `STOPPED/${status}`);
      }
      const logout = await make('STOPPED', { status: 'STOPPED' });
      await setPendingAction(logout.id, 'LOGOUT');
      add(logout, true, 'STOPPED/STOPPED + LOGOUT');
      const queuedLogout = await make('RUNNING', { status: 'QUEUED' });
      await setPendingAction(queuedLogout.id, 'LOGOUT');
      add(queuedLogout, true, 'RUNNING/QUEUED + LOGOUT');
      const deleted = await make('RUNNING', { status: 'LOGGED_OUT' });
      await repo.markDeleted(deleted.id);
      add(deleted, true, 'deleted');
      const restart = await make('STOPPED', { status: 'STOPPED' });
      await setPendingAction(restart.id, 'RESTART');
      add(restart, false, 'STOPPED/STOPPED + RESTART');

      const got = await repo.needingWork([], null, 1000, new Date());
      const labels = (list: string[]) => list.map((id) => label.get(id)).sort();
      expect(labels(ids(got))).toEqual(labels(expected));
      expect(got.map((r) => r.id)).toEqual(ids(got)); // id order
    });

    it('skips a FAILED row whose OPEN circuit trial is not due, and returns it once it is', async () => {
      const now = new Date();
      const due = new Date(now.getTime() + 60_000);
      const waiting = await make('RUNNING', { status: 'FAILED', circuitState: 'OPEN', nextReconnectAt: due });
      const closed = await make('RUNNING', { status: 'FAILED', circuitState: 'CLOSED', nextReconnectAt: due });
      const reconnecting = await make('RUNNING', { status: 'RECONNECTING', circuitState: 'OPEN', nextReconnectAt: due });
      const stopping = await make('STOPPED', { status: 'FAILED', circuitState: 'OPEN', nextReconnectAt: due });
      const loggingOut = await make('RUNNING', { status: 'FAILED', circuitState: 'OPEN', nextReconnectAt: due });
      await setPendingAction(loggingOut.id, 'LOGOUT');

      expect(ids(await repo.needingWork([], null, 100, now))).toEqual([closed.id, reconnecting.id, loggingOut.id].sort());
      expect(ids(await repo.needingWork([], null, 100, new Date(due.getTime() - 1)))).not.toContain(waiting.id);
      expect(ids(await repo.needingWork([], null, 100, new Date(due.getTime() + 1)))).toEqual([waiting.id, closed.id, reconnecting.id, loggingOut.id].sort());
      expect(ids(await repo.needingWork([], null, 100, new Date(due.getTime() + 1)))).not.toContain(stopping.id);
    });

    // workFor (session-work.ts) treats an OPEN circuit without nextReconnectAt as due ("run"):
    // needingWork must not hide such a row, or no worker ever looks at it again.
    it('returns a FAILED row with an OPEN circuit and no nextReconnectAt (agrees with workFor)', async () => {
      const row = await make('RUNNING', { status: 'FAILED', circuitState: 'OPEN', nextReconnectAt: null });
      expect(workFor(row, new Date())).toBe('run');
      expect(ids(await repo.needingWork([], null, 100, new Date()))).toEqual([row.id]);
    });

    it('leaves out excludeIds', async () => {
      const rows = await Promise.all(Array.from({ length: 5 }, () => make('RUNNING', { status: 'WORKING' })));
      const excluded = [rows[1]!.id, rows[3]!.id];
      expect(ids(await repo.needingWork(excluded, null, 100, new Date()))).toEqual(ids(rows.filter((r) => !excluded.includes(r.id))));
    });

    it('keyset pagination (afterId, limit) visits every matching row exactly once', async () => {
      const statuses: SessionStatus[] = ['STOPPED', 'STARTING', 'WORKING', 'RECONNECTING', 'FAILED', 'LOGGED_OUT', 'CONFLICT', 'SCAN_QR'];
      const matching: SessionRecord[] = [];
      const others: SessionRecord[] = [];
      for (let i = 0; i < 25; i++) {
        matching.push(await make('RUNNING', { status: statuses[i % statuses.length] }));
        if (i % 3 === 0) others.push(await make(i % 2 ? 'RUNNING' : 'STOPPED', { status: i % 2 ? 'QUEUED' : 'STOPPED' }));
      }
      const excluded = [matching[4]!.id, matching[17]!.id];

      const seen: string[] = [];
      const pageSizes: number[] = [];
      let after: string | null = null;
      for (let guard = 0; guard < 20; guard++) {
        const page = await repo.needingWork(excluded, after, 7, new Date());
        if (!page.length) break;
        pageSizes.push(page.length);
        expect(page.map((r) => r.id)).toEqual(ids(page));
        if (after) expect(page[0]!.id > after).toBe(true);
        seen.push(...page.map((r) => r.id));
        after = page[page.length - 1]!.id;
      }
      expect(pageSizes).toEqual([7, 7, 7, 2]);
      expect(seen).toHaveLength(new Set(seen).size);
      expect([...seen].sort()).toEqual(ids(matching.filter((r) => !excluded.includes(r.id))));
      for (const other of others) expect(seen).not.toContain(other.id);
    });
  });

  describe('queuedPage', () => {
    beforeEach(async () => {
      await sql(`DELETE FROM "Session"`);
    });

    /** QUEUED desired-RUNNING rows with queuedAt ties, created out of queue order. */
    async function fifo(count: number): Promise<SessionRecord[]> {
      const base = Date.UTC(2026, 5, 1);
      const rows: SessionRecord[] = [];
      for (let i = 0; i < count; i++) {
        // minute buckets in reverse creation order, three rows per bucket (ties broken by id)
        const queuedAt = new Date(base + Math.floor((count - 1 - i) / 3) * 60_000);
        rows.push(await make('RUNNING', { status: 'QUEUED', queuedAt }, 'q'));
      }
      return rows.sort((a, b) => a.queuedAt!.getTime() - b.queuedAt!.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    }

    async function noise(): Promise<SessionRecord[]> {
      const at = new Date(Date.UTC(2026, 5, 1, 0, 1));
      const stoppedQueued = await make('STOPPED', { status: 'QUEUED', queuedAt: at }, 'noise');
      const starting = await make('RUNNING', { status: 'STARTING', queuedAt: at }, 'noise');
      const deleted = await make('RUNNING', { status: 'QUEUED', queuedAt: at }, 'noise');
      await repo.markDeleted(deleted.id);
      return [stoppedQueued, starting, deleted];
    }

    async function pageAll(excludeIds: string[], limit: number, between?: (page: SessionRecord[]) => Promise<void>) {
      const seen: string[] = [];
      let after: SessionRecord | null = null;
      for (let guard = 0; guard < 50; guard++) {
        const page: SessionRecord[] = await repo.queuedPage(excludeIds, after, limit);
        if (!page.length) break;
        seen.push(...page.map((r) => r.id));
        after = page[page.length - 1]!;
        if (between) await between(page);
      }
      return seen;
    }

    it('returns QUEUED desired-RUNNING rows in (queuedAt, id) order; cursor paging visits each once', async () => {
      const order = await fifo(11);
      const others = await noise();
      expect((await repo.queuedPage([], null, 100)).map((r) => r.id)).toEqual(order.map((r) => r.id));
      const seen = await pageAll([], 3);
      expect(seen).toEqual(order.map((r) => r.id));
      for (const o of others) expect(seen).not.toContain(o.id);
    });

    it('leaves out excludeIds', async () => {
      const order = await fifo(8);
      const excluded = [order[0]!.id, order[5]!.id];
      expect(await pageAll(excluded, 3)).toEqual(order.filter((r) => !excluded.includes(r.id)).map((r) => r.id));
    });

    it('continues after a cursor row that is now in excludeIds (still QUEUED)', async () => {
      const order = await fifo(9);
      const excluded: string[] = [];
      const seen = await pageAll(excluded, 3, async (page) => {
        excluded.push(page[page.length - 1]!.id);
      });
      expect(seen).toEqual(order.map((r) => r.id));
    });

    // The reconciler's takeQueued passes the last row of the previous page (as it read it) after
    // adopting it: by then that row is live here (in excludeIds), STARTING, and its queuedAt is null.
    it('continues after a cursor row that was adopted meanwhile (excluded, STARTING, queuedAt null)', async () => {
      const order = await fifo(9);
      const taken: string[] = [];
      const seen = await pageAll(taken, 3, async (page) => {
        const last = page[page.length - 1]!;
        taken.push(last.id);
        const epoch = (await repo.bumpEpoch(last.id))!.leaseEpoch;
        await repo.writeFenced({ id: last.id, epoch }, { status: 'STARTING', queuedAt: null });
      });
      expect(seen).toEqual(order.map((r) => r.id));
    });
  });
});
