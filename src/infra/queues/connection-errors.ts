import type { Logger } from '@nestjs/common';

interface ErrorEmitter {
  on(event: 'error', listener: (error: Error) => void): unknown;
}

/**
 * Logs the Redis connection errors of a BullMQ Queue or Worker, at most once
 * per `everyMs` with a count of the ones suppressed. Without an 'error'
 * listener BullMQ prints every reconnect failure to the console as a raw
 * stack trace (one per retry, per connection) while Redis is down; readiness
 * already reports the outage.
 */
export function logConnectionErrors(emitter: ErrorEmitter, name: string, logger: Pick<Logger, 'warn'>, everyMs = 30_000): void {
  let lastAt = 0;
  let suppressed = 0;
  emitter.on('error', (error: Error) => {
    const now = Date.now();
    if (now - lastAt < everyMs) {
      suppressed += 1;
      return;
    }
    const more = suppressed ? ` (${suppressed} more since the last report)` : '';
    logger.warn(`${name}: redis error: ${error.message}${more}`);
    lastAt = now;
    suppressed = 0;
  });
}
