import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../../../config';
import { SessionRuntime } from './session-runtime.service';

const PING_TIMEOUT_MS = 10_000;

/**
 * Every SESSION_HEALTH_INTERVAL_MS, checks that each WORKING socket is alive:
 * recent inbound traffic is enough; an idle one must answer a ping. A dead
 * socket goes through the normal reconnect path (backoff + circuit breaker).
 * One timer for all sessions of the worker.
 */
@Injectable()
export class SessionWatchdog implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(SessionWatchdog.name);
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(
    private readonly runtime: SessionRuntime,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.checkAll(), this.config.SESSION_HEALTH_INTERVAL_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** One pass over the WORKING sessions; concurrent calls share the pass. */
  checkAll(): Promise<void> {
    this.running ??= this.pass().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async pass(): Promise<void> {
    const now = Date.now();
    const interval = this.config.SESSION_HEALTH_INTERVAL_MS;
    await Promise.all(
      this.runtime.liveSessions().map(async (live) => {
        const connection = live.connection;
        if (!connection || live.status !== 'WORKING') return;
        if (now - connection.lastActivityAt() < interval) return;
        try {
          await connection.ping(Math.min(PING_TIMEOUT_MS, interval));
        } catch (error) {
          if (live.connection !== connection) return; // replaced meanwhile
          this.logger.warn(`session ${live.name}: socket did not answer a ping (${(error as Error).message}); reconnecting`);
          await this.runtime.onDeadConnection(live.id);
        }
      }),
    );
  }
}
