import { AsyncLocalStorage } from 'node:async_hooks';
import { installLibsignalJobContext } from './libsignal-job-context';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { SessionCipher, SessionBuilder } = require('libsignal') as {
  SessionCipher: { prototype: { queueJob(awaitable: () => Promise<unknown>): Promise<unknown> } };
  SessionBuilder: { prototype: { initOutgoing(device: unknown): Promise<unknown> } };
};

/** Stands for a SessionCipher / SessionBuilder of one address (all the queue looks at). */
const ofAddress = (address: string, storage: object = {}) => ({ addr: { toString: () => address }, storage });

/** A job that runs until released; `started` resolves once it runs. */
function blockingJob(then: () => void = () => undefined) {
  let release!: () => void;
  let markStarted!: () => void;
  const started = new Promise<void>((resolve) => (markStarted = resolve));
  const job = async () => {
    markStarted();
    await new Promise<void>((resolve) => (release = resolve));
    then();
  };
  return { job, started, release: () => release() };
}

/**
 * libsignal's per-address queue against the AsyncLocalStorage Baileys keeps
 * its key-store transaction in: a job must see the context of whoever queued
 * it, not the one of whoever started the queue's current run.
 */
describe('libsignal jobs run in the context of whoever queued them', () => {
  beforeAll(() => installLibsignalJobContext());

  it('a cipher job queued behind a running one sees its own transaction, not the earlier one', async () => {
    const transaction = new AsyncLocalStorage<string>();
    const blocking = blockingJob();
    const first = transaction.run('A', () => SessionCipher.prototype.queueJob.call(ofAddress('5511@x.1'), blocking.job));
    await blocking.started;
    const second = transaction.run('B', () => SessionCipher.prototype.queueJob.call(ofAddress('5511@x.1'), async () => transaction.getStore()));
    blocking.release();
    await first;
    expect(await second).toBe('B');
  });

  it('session building waits for the cipher jobs of its address and runs in its caller\'s context', async () => {
    const transaction = new AsyncLocalStorage<string>();
    const order: string[] = [];
    const blocking = blockingJob(() => order.push('cipher'));
    const cipherJob = transaction.run('A', () => SessionCipher.prototype.queueJob.call(ofAddress('5522@x.1'), blocking.job));
    await blocking.started;
    // initOutgoing's first step asks the storage whether the identity is trusted: it records the context and stops there.
    const storage = {
      isTrustedIdentity: async () => {
        order.push(`builder in ${transaction.getStore()}`);
        throw new Error('stop here');
      },
    };
    const building = transaction.run('B', () => SessionBuilder.prototype.initOutgoing.call(ofAddress('5522@x.1', storage), { identityKey: Buffer.alloc(33) }));
    blocking.release();
    await cipherJob;
    await expect(building).rejects.toThrow('stop here');
    expect(order).toEqual(['cipher', 'builder in B']);
  });

  it('keeps each address in order and lets other addresses run meanwhile', async () => {
    const order: string[] = [];
    const blocking = blockingJob(() => order.push('one#1'));
    const blocked = SessionCipher.prototype.queueJob.call(ofAddress('one@x.1'), blocking.job);
    const behind = SessionCipher.prototype.queueJob.call(ofAddress('one@x.1'), async () => void order.push('one#2'));
    await blocking.started;
    await SessionCipher.prototype.queueJob.call(ofAddress('two@x.1'), async () => void order.push('two#1'));
    blocking.release();
    await Promise.all([blocked, behind]);
    expect(order).toEqual(['two#1', 'one#1', 'one#2']);
  });
});
