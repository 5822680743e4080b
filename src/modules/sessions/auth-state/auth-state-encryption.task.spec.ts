import { randomBytes } from 'node:crypto';
import { Logger } from '@nestjs/common';
import type { AppConfig } from '../../../config';
import { LifecycleService } from '../../../infra/lifecycle/lifecycle.service';
import { AuthStateCipher } from './auth-state-cipher';
import { AUTH_STATE_ENCRYPTION_TASK, AuthStateEncryptionTask } from './auth-state-encryption.task';
import type { AuthStateRepository } from './auth-state.repository';

const UNENCRYPTED_WARNING = 'auth state is stored unencrypted: set AUTH_STATE_KEY';

/** Pages of plain-text creds rows (`batchSize` 500 = the task's: full pages), `pages` of them then an empty one; records each read. */
function pagedRepository(pages: number, batchSize: number, onRead: (call: number) => void = () => undefined) {
  const reads: Array<string | null> = [];
  const repository = {
    findCredsNotPrefixed: async (_prefix: string, after: string | null) => {
      reads.push(after);
      onRead(reads.length);
      if (reads.length > pages) return [];
      return Array.from({ length: batchSize }, (_, i) => ({ sessionId: `s${reads.length}-${i}`, data: '{"plain":true}' }));
    },
    findKeysNotPrefixed: async () => [],
    replaceCreds: async (rows: unknown[]) => rows.length,
    replaceKeys: async (rows: unknown[]) => rows.length,
  };
  return { repository: repository as unknown as AuthStateRepository, reads };
}

describe('AuthStateEncryptionTask', () => {
  let warn: jest.SpyInstance;
  let error: jest.SpyInstance;
  let log: jest.SpyInstance;

  beforeEach(() => {
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    error = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    log = jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
  });
  afterEach(() => jest.restoreAllMocks());

  const config = (over: Partial<AppConfig>) => ({ SANDBOX: false, ...over }) as AppConfig;

  it('without a key, warns once at boot outside the sandbox and registers no startup task', async () => {
    const lifecycle = new LifecycleService();
    const { repository, reads } = pagedRepository(1, 10);
    const task = new AuthStateEncryptionTask(config({}), AuthStateCipher.fromConfig(undefined), repository, lifecycle);
    expect(lifecycle.startupPending).not.toContain(AUTH_STATE_ENCRYPTION_TASK);
    task.onApplicationBootstrap();
    await task.whenDone();
    expect(warn.mock.calls).toEqual([[UNENCRYPTED_WARNING]]);
    expect(await task.run()).toMatchObject({ reencrypted: 0 });
    expect(reads).toEqual([]);
  });

  it('without a key in the sandbox, stays quiet', () => {
    const task = new AuthStateEncryptionTask(config({ SANDBOX: true }), AuthStateCipher.fromConfig(undefined), pagedRepository(0, 1).repository, new LifecycleService());
    task.onApplicationBootstrap();
    expect(warn).not.toHaveBeenCalled();
  });

  it('with a key, holds /health/startup until the run ends, pages with the last id as cursor, and logs one summary', async () => {
    const lifecycle = new LifecycleService();
    const { repository, reads } = pagedRepository(2, 500);
    const cipher = AuthStateCipher.fromConfig(randomBytes(32).toString('base64'));
    const task = new AuthStateEncryptionTask(config({}), cipher, repository, lifecycle);
    expect(lifecycle.startupPending).toContain(AUTH_STATE_ENCRYPTION_TASK);
    task.onApplicationBootstrap();
    expect(lifecycle.startupPending).toContain(AUTH_STATE_ENCRYPTION_TASK);
    await task.whenDone();
    expect(lifecycle.startupPending).not.toContain(AUTH_STATE_ENCRYPTION_TASK);
    expect(reads).toEqual([null, 's1-499', 's2-499']);
    expect(warn).not.toHaveBeenCalled();
    expect(log.mock.calls).toEqual([
      [`auth state encryption done: 1000 value(s) re-encrypted under key ${cipher.currentKeyId}, 0 changed meanwhile; no value is left in clear or under another key`],
    ]);
  });

  it('logs a failed run as an error and still releases /health/startup', async () => {
    const lifecycle = new LifecycleService();
    const { repository } = pagedRepository(1, 10);
    repository.replaceCreds = async () => {
      throw new Error('connection reset');
    };
    const task = new AuthStateEncryptionTask(config({}), AuthStateCipher.fromConfig(randomBytes(32).toString('hex')), repository, lifecycle);
    task.onApplicationBootstrap();
    await task.whenDone();
    expect(lifecycle.startupPending).not.toContain(AUTH_STATE_ENCRYPTION_TASK);
    expect(error).toHaveBeenCalledTimes(1);
    expect(error.mock.calls[0][0]).toEqual({ err: expect.objectContaining({ message: 'connection reset' }) });
  });

  it('stops between pages at shutdown, and shutdown waits for the page in flight', async () => {
    let shutdown: Promise<void> | undefined;
    let task: AuthStateEncryptionTask | undefined;
    const { repository, reads } = pagedRepository(100, 500, (call) => {
      if (call === 2) shutdown = task!.beforeApplicationShutdown();
    });
    task = new AuthStateEncryptionTask(config({}), AuthStateCipher.fromConfig(randomBytes(32).toString('base64')), repository, new LifecycleService());
    task.onApplicationBootstrap();
    await task.whenDone();
    await shutdown;
    expect(reads).toHaveLength(2);
    expect(log.mock.calls[0][0]).toMatch(/^auth state encryption stopped by shutdown: 1000 value\(s\) re-encrypted/);
  });
});
