import type { CircuitStateName } from '../session.types';

/**
 * The reconnect circuit breaker of one session. It opens after `threshold`
 * consecutive failed connection attempts; an open circuit ends the session's
 * run on this worker (status FAILED, slot released) until the trial time
 * stored on the row, when any worker adopts it for one half-open trial:
 * success closes the circuit, failure opens it again.
 *
 * Hand-written rather than cockatiel's breaker because its state must survive
 * the worker: it starts from the row (another worker may have opened it).
 */
export class ReconnectCircuit {
  private current: CircuitStateName;
  private failureCount: number;

  constructor(
    private readonly threshold: number,
    from: { state: CircuitStateName; failures: number } = { state: 'CLOSED', failures: 0 },
  ) {
    this.current = from.state;
    this.failureCount = from.failures;
  }

  get state(): CircuitStateName {
    return this.current;
  }

  get failures(): number {
    return this.failureCount;
  }

  /** The trial of an open circuit begins (a worker adopted it once due). */
  beginTrial(): void {
    if (this.current === 'OPEN') this.current = 'HALF_OPEN';
  }

  /** Counts a failed attempt; true when the circuit is (again) open. */
  recordFailure(): boolean {
    this.failureCount += 1;
    if (this.current === 'HALF_OPEN' || this.failureCount >= this.threshold) this.current = 'OPEN';
    return this.current === 'OPEN';
  }

  recordSuccess(): void {
    this.current = 'CLOSED';
    this.failureCount = 0;
  }

  reset(): void {
    this.recordSuccess();
  }
}
