import { Logger } from '@nestjs/common';

export interface CrowdedSession {
  sessionId: string;
  name: string;
  pending: number;
}

/**
 * The warning of a session whose backlog went above WARN_PENDING_PER_SESSION:
 * once when it crosses the line, not on every check (nor per message), and
 * again only after it went back under and crossed once more. Nothing is
 * refused: the backlog is the client's to watch (the outbox gauges show it).
 * The set of sessions above the line is this process's: the check runs under
 * a cluster lock, so a replica taking the check over may warn once more.
 */
export class BacklogWarnings {
  private readonly above = new Set<string>();

  constructor(
    private readonly threshold: number,
    private readonly logger: Pick<Logger, 'warn' | 'log'> = new Logger('Outbox'),
  ) {}

  /** The sessions now above the threshold (all of them: one absent is back under). */
  update(crowded: CrowdedSession[]): void {
    const now = new Set(crowded.map((c) => c.sessionId));
    for (const session of crowded) {
      if (this.above.has(session.sessionId)) continue;
      this.above.add(session.sessionId);
      this.logger.warn(
        `session ${session.name} has ${session.pending} messages waiting to be sent (above WARN_PENDING_PER_SESSION=${this.threshold}); they are kept and sent in order`,
      );
    }
    for (const sessionId of [...this.above]) {
      if (!now.has(sessionId)) this.above.delete(sessionId);
    }
  }
}
