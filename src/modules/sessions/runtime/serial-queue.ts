/**
 * Runs tasks one at a time, in the order they were added. Each `run` returns
 * the task's own result (or rejection) to its caller; a failing task never
 * stops the ones behind it. This is what serializes everything that happens
 * to one session (API actions, engine events, timers) in its SessionDriver.
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private pending = 0;

  run<T>(task: () => Promise<T> | T): Promise<T> {
    this.pending += 1;
    const result = this.tail.then(() => task());
    // The chain continues whatever the task did; the caller gets the outcome through `result`.
    this.tail = result.then(
      () => this.settle(),
      () => this.settle(),
    );
    return result;
  }

  /** Tasks queued or running. */
  get size(): number {
    return this.pending;
  }

  /** Resolves once everything queued so far has finished. */
  idle(): Promise<void> {
    return this.tail.then(() => undefined);
  }

  private settle(): void {
    this.pending -= 1;
  }
}
