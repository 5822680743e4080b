import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../../../config';
import { BackgroundFailures } from '../../../infra/metrics/background-failures';
import { SessionRuntime } from './session-runtime.service';

const PING_TIMEOUT_MS = 10_000;

/**
 * Every SESSION_HEALTH_INTERVAL_MS, checks each live session (one timer for
 * the whole worker): an idle WORKING socket must answer a ping or goes through
 * the reconnect path; a session with nothing in flight is connected again, so
 * none can go silent. The checks run in each session's driver.
 */
@Injectable()
export class SessionWatchdog implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(
    private readonly runtime: SessionRuntime,
    private readonly background: BackgroundFailures,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => this.background.track('session watchdog', this.checkAll()), this.config.SESSION_HEALTH_INTERVAL_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** One pass over the live sessions; concurrent calls share the pass. */
  checkAll(): Promise<void> {
    this.running ??= this.pass().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async pass(): Promise<void> {
    const interval = this.config.SESSION_HEALTH_INTERVAL_MS;
    await Promise.all(
      this.runtime.liveSessions().map((driver) =>
        driver.checkHealth(interval, Math.min(PING_TIMEOUT_MS, interval)).catch((error: unknown) => this.background.record('session health check', error, { session: driver.name })),
      ),
    );
  }
}
