/** The retry schedule of webhook deliveries (WEBHOOK_RETRY_BASE_MS, WEBHOOK_RETRY_MAX_DELAY_MS, WEBHOOK_MAX_ATTEMPTS). */
export interface RetrySchedule {
  baseMs: number;
  maxDelayMs: number;
  maxAttempts: number;
}

/**
 * How long to wait after failed attempt number `attempts` (1 = the first
 * attempt failed), or null when the schedule is exhausted and the delivery is
 * FAILED. Exponential: d = min(base * 2^(attempts-1), max); jittered over the
 * upper half, [d/2, d], rather than [0, d] ("full jitter"): retries of many
 * deliveries still spread out after an outage, and the schedule keeps a lower
 * bound on its total length (12 attempts with the defaults span at least ~70
 * minutes, the contract's "at least an hour").
 */
export function retryDelayMs(attempts: number, schedule: RetrySchedule, random: () => number = Math.random): number | null {
  if (attempts >= schedule.maxAttempts) return null;
  const exponent = Math.min(Math.max(attempts - 1, 0), 40);
  const ceiling = Math.min(schedule.baseMs * 2 ** exponent, schedule.maxDelayMs);
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** The shortest total time the schedule can take from the first attempt to the last. */
export function minimumScheduleMs(schedule: RetrySchedule): number {
  let total = 0;
  for (let attempts = 1; attempts < schedule.maxAttempts; attempts++) total += retryDelayMs(attempts, schedule, () => 0) ?? 0;
  return total;
}
