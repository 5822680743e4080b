import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../../../config';
import { LifecycleService } from '../../../infra/lifecycle/lifecycle.service';
import { AUTH_STATE_CIPHER, AuthStateCipher, AuthStateDecryptError, credsRow, keyRow, type AuthRow } from './auth-state-cipher';
import { AuthStateRepository, type AuthCredsReplacement, type AuthKeyCursor, type AuthKeyReplacement } from './auth-state.repository';

/** Name of the startup task /health/startup waits for. */
export const AUTH_STATE_ENCRYPTION_TASK = 'auth-state-encryption';

const DEFAULT_BATCH = 500;
const SESSIONS_NAMED = 10;

export interface AuthStateEncryptionReport {
  /** Values written again under the current key. */
  reencrypted: number;
  /** Values that changed between the read and the write (the session or another replica wrote them): left to the newer write. */
  changedMeanwhile: number;
  /** Values the configured keys cannot decrypt (another key, corrupted): left as they are. */
  unreadable: number;
  /** Up to 10 session ids holding unreadable values (ids only, never values). */
  unreadableSessions: string[];
  /** True when shutdown interrupted the run before it reached the end. */
  stopped: boolean;
}

/**
 * Once AUTH_STATE_KEY is set, brings every stored auth value to the current
 * format and key at boot: plain text (written before the key was set), enc:v1
 * (no key id, no row binding) and values under AUTH_STATE_KEY_PREVIOUS. It
 * pages through the rows lacking the current key's prefix, 500 at a time in
 * primary-key order (keyset pagination: one range read and one batched UPDATE
 * per page, and a row left as it is is never read twice).
 *
 * Several replicas may run it at once, and sessions may be writing meanwhile:
 * every update is compare-and-set on the value read, so nothing newer is ever
 * overwritten; at worst two replicas do the same work and one of them finds
 * the rows already changed. No lock is needed for correctness, so none is taken.
 *
 * It runs in the background after bootstrap, so HTTP is served meanwhile;
 * /health/startup reports it pending until it ends (done or failed). The run's
 * promise is kept and awaited at shutdown, which stops it between pages. What
 * it has not reached yet is still encrypted when read (see the store) and at
 * the next boot.
 *
 * Without a key it only warns, outside the sandbox, that auth state is stored
 * in clear.
 */
@Injectable()
export class AuthStateEncryptionTask implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(AuthStateEncryptionTask.name);
  private running: Promise<void> | null = null;
  private stopRequested = false;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(AUTH_STATE_CIPHER) private readonly cipher: AuthStateCipher,
    private readonly repository: AuthStateRepository,
    private readonly lifecycle: LifecycleService,
  ) {
    // At construction, so no probe answered before bootstrap misses it.
    if (cipher.encrypts) lifecycle.addStartupTask(AUTH_STATE_ENCRYPTION_TASK);
  }

  onApplicationBootstrap(): void {
    if (!this.cipher.encrypts) {
      if (!this.config.SANDBOX) this.logger.warn('auth state is stored unencrypted: set AUTH_STATE_KEY');
      return;
    }
    this.running = this.run()
      .then(
        (report) => this.logReport(report),
        (error: unknown) =>
          this.logger.error({ err: error }, 'auth state encryption failed; values left are encrypted when read, and at the next boot'),
      )
      .finally(() => this.lifecycle.completeStartupTask(AUTH_STATE_ENCRYPTION_TASK));
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopRequested = true;
    await this.running;
  }

  /** Settles when the boot run has ended (immediately when none was started). */
  async whenDone(): Promise<void> {
    await this.running;
  }

  /** One pass over every stored value; safe to call any number of times, concurrently too. */
  async run(options: { batchSize?: number } = {}): Promise<AuthStateEncryptionReport> {
    const batchSize = options.batchSize ?? DEFAULT_BATCH;
    const report: AuthStateEncryptionReport = { reencrypted: 0, changedMeanwhile: 0, unreadable: 0, unreadableSessions: [], stopped: false };
    const prefix = this.cipher.currentPrefix;
    if (!prefix) return report;
    const unreadableSessions = new Set<string>();
    const finish = (stopped: boolean): AuthStateEncryptionReport => ({
      ...report,
      stopped,
      unreadableSessions: [...unreadableSessions].slice(0, SESSIONS_NAMED),
    });

    let credsAfter: string | null = null;
    for (;;) {
      if (this.stopRequested) return finish(true);
      const page = await this.repository.findCredsNotPrefixed(prefix, credsAfter, batchSize);
      const replacements: AuthCredsReplacement[] = [];
      for (const row of page) {
        const to = this.reencrypt(row.data, credsRow(row.sessionId), report, unreadableSessions);
        if (to !== null) replacements.push({ sessionId: row.sessionId, from: row.data, to });
      }
      this.count(report, replacements.length, replacements.length ? await this.repository.replaceCreds(replacements) : 0);
      if (page.length < batchSize) break;
      credsAfter = page[page.length - 1].sessionId;
    }

    let keysAfter: AuthKeyCursor | null = null;
    for (;;) {
      if (this.stopRequested) return finish(true);
      const page = await this.repository.findKeysNotPrefixed(prefix, keysAfter, batchSize);
      const replacements: AuthKeyReplacement[] = [];
      for (const row of page) {
        const to = this.reencrypt(row.value, keyRow(row.sessionId, row.type, row.keyId), report, unreadableSessions);
        if (to !== null) replacements.push({ sessionId: row.sessionId, type: row.type, id: row.keyId, from: row.value, to });
      }
      this.count(report, replacements.length, replacements.length ? await this.repository.replaceKeys(replacements) : 0);
      if (page.length < batchSize) break;
      const last = page[page.length - 1];
      keysAfter = { sessionId: last.sessionId, type: last.type, keyId: last.keyId };
    }
    return finish(false);
  }

  /** The value sealed under the current key, or null when it cannot be read (counted, left as it is). */
  private reencrypt(stored: string, row: AuthRow, report: AuthStateEncryptionReport, unreadableSessions: Set<string>): string | null {
    try {
      const opened = this.cipher.open(stored, row);
      return opened.stale ? this.cipher.encrypt(opened.plain, row) : null;
    } catch (error) {
      if (!(error instanceof AuthStateDecryptError)) throw error;
      report.unreadable++;
      unreadableSessions.add(row.sessionId);
      return null;
    }
  }

  private count(report: AuthStateEncryptionReport, attempted: number, updated: number): void {
    report.reencrypted += updated;
    report.changedMeanwhile += attempted - updated;
  }

  private logReport(report: AuthStateEncryptionReport): void {
    const kid = this.cipher.currentKeyId;
    const summary = `auth state encryption ${report.stopped ? 'stopped by shutdown' : 'done'}: ${report.reencrypted} value(s) re-encrypted under key ${kid}, ${report.changedMeanwhile} changed meanwhile`;
    if (report.unreadable === 0) {
      this.logger.log(report.stopped ? summary : `${summary}; no value is left in clear or under another key`);
      return;
    }
    this.logger.warn(
      `${summary}; ${report.unreadable} value(s) cannot be decrypted with AUTH_STATE_KEY or AUTH_STATE_KEY_PREVIOUS and were left as they are ` +
        `(sessions ${report.unreadableSessions.join(', ')}${report.unreadableSessions.length === SESSIONS_NAMED ? ', ...' : ''}): those sessions fail to start until the key they were written with is configured`,
    );
  }
}
