import { Injectable } from '@nestjs/common';

/**
 * Process-level lifecycle flags read by the health probes: whether boot work
 * (migration check, session restore) is done and whether shutdown has begun.
 * These are facts about this process only, which is what probes ask about.
 */
@Injectable()
export class LifecycleService {
  private shuttingDown = false;
  private readonly pendingStartupTasks = new Set<string>(['migrations']);

  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  beginShutdown(): void {
    this.shuttingDown = true;
  }

  /** Registers boot work that /health/startup waits for (e.g. 'sessions-restore'). */
  addStartupTask(name: string): void {
    this.pendingStartupTasks.add(name);
  }

  completeStartupTask(name: string): void {
    this.pendingStartupTasks.delete(name);
  }

  get startupPending(): string[] {
    return [...this.pendingStartupTasks];
  }
}
