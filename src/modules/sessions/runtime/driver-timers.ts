/**
 * The two timers of a SessionDriver: the retry (backoff or circuit trial) and
 * the deadline of a connection attempt. Each slot holds at most one timer;
 * arming replaces, and `clear` leaves nothing running.
 */
export class DriverTimers {
  private retry: NodeJS.Timeout | null = null;
  private deadline: NodeJS.Timeout | null = null;

  armRetry(ms: number, fire: () => void): void {
    this.clearRetry();
    this.retry = setTimeout(() => {
      this.retry = null;
      fire();
    }, ms);
  }

  armDeadline(ms: number, fire: () => void): void {
    this.clearDeadline();
    this.deadline = setTimeout(() => {
      this.deadline = null;
      fire();
    }, ms);
  }

  clearRetry(): void {
    if (this.retry) clearTimeout(this.retry);
    this.retry = null;
  }

  clearDeadline(): void {
    if (this.deadline) clearTimeout(this.deadline);
    this.deadline = null;
  }

  clear(): void {
    this.clearRetry();
    this.clearDeadline();
  }
}
