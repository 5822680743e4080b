import { BrokenCircuitError, CircuitState, ConsecutiveBreaker, circuitBreaker, handleWhen, type CircuitBreakerPolicy } from 'cockatiel';
import type { CircuitStateName } from '../session.types';

export { BrokenCircuitError };

/** An attempt we abandoned on purpose (stop, forced reconnect): not a failure of WhatsApp's. */
export class AttemptCancelledError extends Error {
  constructor() {
    super('connection attempt cancelled');
  }
}

/**
 * The reconnect circuit breaker of one session (cockatiel): it opens after
 * `threshold` consecutive failed connection attempts, stays open `resetMs`,
 * then lets one trial through (half-open); success closes it.
 */
export class SessionCircuit {
  private policy: CircuitBreakerPolicy;
  private consecutiveFailures = 0;
  private disposers: Array<{ dispose(): void }> = [];

  constructor(
    private readonly threshold: number,
    private readonly resetMs: number,
  ) {
    this.policy = this.create();
  }

  get state(): CircuitStateName {
    switch (this.policy.state) {
      case CircuitState.Open:
      case CircuitState.Isolated:
        return 'OPEN';
      case CircuitState.HalfOpen:
        return 'HALF_OPEN';
      default:
        return 'CLOSED';
    }
  }

  get failures(): number {
    return this.consecutiveFailures;
  }

  /** Runs one connection attempt through the breaker; rejects with BrokenCircuitError while open. */
  execute<T>(attempt: () => Promise<T>): Promise<T> {
    return this.policy.execute(attempt);
  }

  /** Closes the breaker and zeroes its failures (the circuit reset route). */
  reset(): void {
    this.dispose();
    this.consecutiveFailures = 0;
    this.policy = this.create();
  }

  dispose(): void {
    for (const d of this.disposers) d.dispose();
    this.disposers = [];
  }

  private create(): CircuitBreakerPolicy {
    const policy = circuitBreaker(handleWhen((error) => !(error instanceof AttemptCancelledError)), { halfOpenAfter: this.resetMs, breaker: new ConsecutiveBreaker(this.threshold) });
    this.disposers.push(
      policy.onFailure(({ handled }) => {
        if (handled) this.consecutiveFailures += 1;
      }),
      policy.onSuccess(() => {
        this.consecutiveFailures = 0;
      }),
    );
    return policy;
  }
}
