import { minimumScheduleMs, retryDelayMs, type RetrySchedule } from './delivery-backoff';

const defaults: RetrySchedule = { baseMs: 5000, maxDelayMs: 3_600_000, maxAttempts: 12 };

describe('retryDelayMs', () => {
  it('doubles per failed attempt, jittered over the upper half of each step', () => {
    expect(retryDelayMs(1, defaults, () => 0)).toBe(2500);
    expect(retryDelayMs(1, defaults, () => 1)).toBe(5000);
    expect(retryDelayMs(2, defaults, () => 1)).toBe(10_000);
    expect(retryDelayMs(4, defaults, () => 0.5)).toBe(30_000);
  });

  it('caps a step at the maximum delay', () => {
    expect(retryDelayMs(11, defaults, () => 1)).toBe(3_600_000);
    expect(retryDelayMs(11, { ...defaults, maxAttempts: 100 }, () => 0)).toBe(1_800_000);
    expect(retryDelayMs(90, { ...defaults, maxAttempts: 100 }, () => 1)).toBe(3_600_000);
  });

  it('ends the schedule after the last attempt', () => {
    expect(retryDelayMs(11, defaults)).not.toBeNull();
    expect(retryDelayMs(12, defaults)).toBeNull();
    expect(retryDelayMs(1, { ...defaults, maxAttempts: 1 })).toBeNull();
  });

  it('the default schedule: first retry within 10 s, at least 8 attempts over at least an hour', () => {
    expect(retryDelayMs(1, defaults, () => 1)).toBeLessThanOrEqual(10_000);
    expect(defaults.maxAttempts).toBeGreaterThanOrEqual(8);
    expect(minimumScheduleMs(defaults)).toBeGreaterThanOrEqual(3_600_000);
  });
});
