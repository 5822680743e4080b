import { Logger } from '@nestjs/common';
import { parseConfig } from '../../../config';
import type { Lease, RedisLockService, RenewOutcome } from '../../../infra/locks/redis-lock.service';
import { SessionLeaseService } from './session-lease.service';
import { settle } from './testing/wait';

const ENV = {
  DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/zaphub',
  REDIS_URL: 'redis://127.0.0.1:6379',
  API_KEY: 'test-api-key-0123456789abcdef',
  REDIS_PREFIX: 'zt',
  SESSION_LEASE_TTL_MS: '30000',
  INSTANCE_ID: 'worker-a',
};

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const keyFor = (name: string) => `zt:lock:${name}`;

/** What the lease service needs from RedisLockService; each answer is set per test. */
function stubLocks() {
  return {
    acquire: jest.fn(async (name: string, _ttlMs: number, token: string): Promise<Lease | null> => ({ key: keyFor(name), token })),
    renew: jest.fn(async (_lease: Lease, _ttlMs: number): Promise<boolean> => false),
    renewOrReclaim: jest.fn(async (_lease: Lease, _ttlMs: number): Promise<RenewOutcome> => 'renewed'),
    release: jest.fn(async (_lease: Lease): Promise<void> => undefined),
    keyFor: jest.fn(keyFor),
    holder: jest.fn(async (_name: string): Promise<string | null> => null),
    holders: jest.fn(async (names: string[]): Promise<Array<string | null>> => names.map(() => null)),
  };
}

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const blip = () => Promise.reject(new Error('Connection is closed.'));

describe('SessionLeaseService', () => {
  let locks: ReturnType<typeof stubLocks>;
  let leases: SessionLeaseService;
  let onLost: jest.Mock<void, [string, string]>;

  beforeEach(() => {
    // setImmediate stays real: settle() turns the event loop with it.
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick'] });
    jest.setSystemTime(T0);
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    locks = stubLocks();
    leases = new SessionLeaseService(locks as unknown as RedisLockService, parseConfig(ENV));
    onLost = jest.fn();
    leases.startRenewal(onLost);
  });
  afterEach(() => {
    leases.stopRenewal();
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  const at = (ms: number) => jest.setSystemTime(T0 + ms);

  it('reads the TTL from the config; maxUnconfirmedMs is the TTL minus a quarter', () => {
    expect(leases.ttlMs).toBe(30_000);
    expect(leases.maxUnconfirmedMs).toBe(22_500);
  });

  describe('acquire', () => {
    it('acquires under INSTANCE_ID with the TTL, and renews that lease', async () => {
      expect(await leases.acquire('s1')).toBe(true);
      expect(locks.acquire).toHaveBeenCalledWith('session:s1', 30_000, 'worker-a');
      expect(leases.isHeld('s1')).toBe(true);
      expect(leases.heldCount).toBe(1);

      await leases.renewAll();
      expect(locks.renewOrReclaim).toHaveBeenCalledWith({ key: keyFor('session:s1'), token: 'worker-a' }, 30_000);
    });

    it('is true at once for a lease already held (no Redis call)', async () => {
      await leases.acquire('s1');
      locks.acquire.mockClear();
      expect(await leases.acquire('s1')).toBe(true);
      expect(locks.acquire).not.toHaveBeenCalled();
      expect(locks.renew).not.toHaveBeenCalled();
    });

    it('falls back to renewing a lease left under our own INSTANCE_ID (restarted pod)', async () => {
      locks.acquire.mockResolvedValueOnce(null);
      locks.renew.mockResolvedValueOnce(true);
      expect(await leases.acquire('s1')).toBe(true);
      expect(locks.renew).toHaveBeenCalledWith({ key: keyFor('session:s1'), token: 'worker-a' }, 30_000);
      expect(leases.isHeld('s1')).toBe(true);

      await leases.renewAll();
      expect(locks.renewOrReclaim).toHaveBeenCalledWith({ key: keyFor('session:s1'), token: 'worker-a' }, 30_000);
    });

    it('the adopted lease is confirmed at adoption: its unconfirmed clock starts then', async () => {
      locks.acquire.mockResolvedValueOnce(null);
      locks.renew.mockResolvedValueOnce(true);
      at(10_000);
      await leases.acquire('s1');
      locks.renewOrReclaim.mockImplementation(blip);
      at(10_000 + 22_500);
      await leases.renewAll();
      expect(onLost).not.toHaveBeenCalled();
      at(10_000 + 22_501);
      await leases.renewAll();
      expect(onLost).toHaveBeenCalledTimes(1);
    });

    it('returns false when another instance holds the lease', async () => {
      locks.acquire.mockResolvedValueOnce(null);
      locks.renew.mockResolvedValueOnce(false);
      expect(await leases.acquire('s1')).toBe(false);
      expect(leases.isHeld('s1')).toBe(false);
      expect(leases.heldCount).toBe(0);
      await leases.renewAll();
      expect(locks.renewOrReclaim).not.toHaveBeenCalled();
    });
  });

  describe('renewAll', () => {
    beforeEach(async () => {
      expect(await leases.acquire('s1')).toBe(true);
    });

    it('one failed renewal (a Redis blip) is not a loss', async () => {
      locks.renewOrReclaim.mockImplementationOnce(blip);
      at(5000);
      await leases.renewAll();
      expect(onLost).not.toHaveBeenCalled();
      expect(leases.isHeld('s1')).toBe(true);

      // and the next successful pass keeps it
      at(10_000);
      await leases.renewAll();
      expect(locks.renewOrReclaim).toHaveBeenCalledTimes(2);
      expect(leases.isHeld('s1')).toBe(true);
    });

    it('renewals failing for longer than maxUnconfirmedMs lose the lease once, with a reason naming Redis', async () => {
      locks.renewOrReclaim.mockImplementation(blip);
      for (const t of [5000, 10_000, 15_000, 20_000, 22_500]) {
        at(t);
        await leases.renewAll();
        expect(onLost).not.toHaveBeenCalled();
        expect(leases.isHeld('s1')).toBe(true);
      }
      at(22_501);
      await leases.renewAll();
      expect(onLost).toHaveBeenCalledTimes(1);
      expect(onLost).toHaveBeenCalledWith('s1', expect.stringMatching(/redis/i));
      expect(leases.isHeld('s1')).toBe(false);

      const calls = locks.renewOrReclaim.mock.calls.length;
      at(40_000);
      await leases.renewAll();
      expect(onLost).toHaveBeenCalledTimes(1);
      expect(locks.renewOrReclaim).toHaveBeenCalledTimes(calls); // nothing left to renew
    });

    it('a successful renewal in between resets the unconfirmed clock', async () => {
      locks.renewOrReclaim.mockImplementationOnce(blip);
      at(20_000);
      await leases.renewAll();
      at(21_000);
      await leases.renewAll(); // renewed: confirmed at 21 000
      locks.renewOrReclaim.mockImplementation(blip);
      at(40_000); // 40 s after the acquisition, 19 s after the confirmation
      await leases.renewAll();
      at(21_000 + 22_500);
      await leases.renewAll();
      expect(onLost).not.toHaveBeenCalled();
      expect(leases.isHeld('s1')).toBe(true);

      at(21_000 + 22_501);
      await leases.renewAll();
      expect(onLost).toHaveBeenCalledTimes(1);
      expect(leases.isHeld('s1')).toBe(false);
    });

    it("'lost' (another token holds the key) loses the lease at once", async () => {
      locks.renewOrReclaim.mockResolvedValueOnce('lost');
      at(1);
      await leases.renewAll();
      expect(onLost).toHaveBeenCalledTimes(1);
      expect(onLost).toHaveBeenCalledWith('s1', expect.stringMatching(/another worker/i));
      expect(leases.isHeld('s1')).toBe(false);
      await leases.renewAll();
      expect(onLost).toHaveBeenCalledTimes(1);
    });

    it("'reclaimed' keeps the lease and resets the clock", async () => {
      locks.renewOrReclaim.mockImplementationOnce(blip);
      at(15_000);
      await leases.renewAll();
      locks.renewOrReclaim.mockResolvedValueOnce('reclaimed');
      at(20_000);
      await leases.renewAll();
      expect(onLost).not.toHaveBeenCalled();
      expect(leases.isHeld('s1')).toBe(true);

      locks.renewOrReclaim.mockImplementation(blip);
      at(20_000 + 22_500); // 42.5 s after the acquisition: only the reclaim makes this fine
      await leases.renewAll();
      expect(onLost).not.toHaveBeenCalled();
      at(20_000 + 22_501);
      await leases.renewAll();
      expect(onLost).toHaveBeenCalledTimes(1);
    });

    it('decides per session: one lost lease does not touch the others', async () => {
      await leases.acquire('s2');
      await leases.acquire('s3');
      locks.renewOrReclaim.mockImplementation(async (lease) => (lease.key === keyFor('session:s2') ? 'lost' : 'renewed'));
      await leases.renewAll();
      expect(onLost.mock.calls).toEqual([['s2', expect.any(String)]]);
      expect([leases.isHeld('s1'), leases.isHeld('s2'), leases.isHeld('s3')]).toEqual([true, false, true]);
    });

    it('concurrent calls share one pass', async () => {
      const answer = deferred<RenewOutcome>();
      locks.renewOrReclaim.mockReturnValueOnce(answer.promise);
      const a = leases.renewAll();
      const b = leases.renewAll();
      expect(locks.renewOrReclaim).toHaveBeenCalledTimes(1);
      answer.resolve('renewed');
      await Promise.all([a, b]);
      await leases.renewAll();
      expect(locks.renewOrReclaim).toHaveBeenCalledTimes(2);
    });

    it('a lease released while its renewal is in flight is not reported lost', async () => {
      const answer = deferred<RenewOutcome>();
      locks.renewOrReclaim.mockReturnValueOnce(answer.promise);
      const pass = leases.renewAll();
      await leases.release('s1');
      answer.resolve('lost');
      await pass;
      expect(onLost).not.toHaveBeenCalled();
      expect(leases.isHeld('s1')).toBe(false);
    });

    it('a lease released and re-acquired while the old renewal is in flight is kept', async () => {
      const answer = deferred<RenewOutcome>();
      locks.renewOrReclaim.mockReturnValueOnce(answer.promise);
      const pass = leases.renewAll();
      await leases.release('s1');
      expect(await leases.acquire('s1')).toBe(true);
      at(30_000);
      answer.reject(new Error('timeout'));
      await pass;
      expect(onLost).not.toHaveBeenCalled();
      expect(leases.isHeld('s1')).toBe(true);
    });

    // The Redis client has no command timeout: when Redis stops answering (the socket stays
    // open), a renewal hangs instead of rejecting. The lease expires in Redis after the TTL and
    // another worker may take the session, so a hung renewal must count as unconfirmed too.
    it('a renewal that hangs past maxUnconfirmedMs loses the lease', async () => {
      locks.renewOrReclaim.mockReturnValue(new Promise<RenewOutcome>(() => undefined));
      at(5000);
      const hung = leases.renewAll();
      await settle();
      expect(onLost).not.toHaveBeenCalled();

      jest.advanceTimersByTime(22_500 - 5000 + 1); // time passes, the interval fires its passes
      await hung; // bounded: the renewal timed out
      const next = leases.renewAll();
      await settle();
      await next;
      expect(onLost).toHaveBeenCalledTimes(1);
      expect(onLost).toHaveBeenCalledWith('s1', expect.stringMatching(/redis/i));
      expect(leases.isHeld('s1')).toBe(false);
    });
  });

  describe('release / forget', () => {
    it('release hands the lease back through locks.release', async () => {
      await leases.acquire('s1');
      await leases.release('s1');
      expect(locks.release).toHaveBeenCalledWith({ key: keyFor('session:s1'), token: 'worker-a' });
      expect(leases.isHeld('s1')).toBe(false);
      await leases.renewAll();
      expect(locks.renewOrReclaim).not.toHaveBeenCalled();
    });

    it('release of a lease not held does not call Redis', async () => {
      await leases.release('nope');
      expect(locks.release).not.toHaveBeenCalled();
    });

    it('release forgets the lease even when Redis fails, and leaves the error to the caller', async () => {
      await leases.acquire('s1');
      locks.release.mockRejectedValueOnce(new Error('Connection is closed.'));
      await expect(leases.release('s1')).rejects.toThrow('Connection is closed.');
      expect(leases.isHeld('s1')).toBe(false);
    });

    it('forget drops the lease without calling Redis', async () => {
      await leases.acquire('s1');
      const before = Object.values(locks).map((fn) => fn.mock.calls.length);
      leases.forget('s1');
      expect(Object.values(locks).map((fn) => fn.mock.calls.length)).toEqual(before);
      expect(leases.isHeld('s1')).toBe(false);
      await leases.renewAll();
      expect(locks.renewOrReclaim).not.toHaveBeenCalled();
      expect(locks.release).not.toHaveBeenCalled();
    });
  });

  describe('holders', () => {
    it('maps session ids to holder tokens in one call', async () => {
      locks.holders.mockResolvedValueOnce(['worker-a', null, 'worker-b']);
      const map = await leases.holders(['a', 'b', 'c']);
      expect(locks.holders).toHaveBeenCalledWith(['session:a', 'session:b', 'session:c']);
      expect([...map.entries()]).toEqual([
        ['a', 'worker-a'],
        ['b', null],
        ['c', 'worker-b'],
      ]);
    });
  });
});
