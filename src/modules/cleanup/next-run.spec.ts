import { nextRunAt } from './next-run';

describe('nextRunAt', () => {
  const at = (iso: string) => new Date(iso);

  it('gives the next slot of an every-30-minutes schedule', () => {
    expect(nextRunAt('*/30 * * * *', at('2026-12-06T10:07:13.000Z')).toISOString()).toBe('2026-12-06T10:30:00.000Z');
    expect(nextRunAt('*/30 * * * *', at('2026-12-06T10:31:00.000Z')).toISOString()).toBe('2026-12-06T11:00:00.000Z');
  });

  it('is strictly after `from`, also exactly on a slot', () => {
    expect(nextRunAt('*/30 * * * *', at('2026-12-06T10:30:00.000Z')).toISOString()).toBe('2026-12-06T11:00:00.000Z');
  });

  it('evaluates daily schedules in UTC and rolls over to the next day', () => {
    expect(nextRunAt('0 3 * * *', at('2026-12-06T02:59:59.000Z')).toISOString()).toBe('2026-12-06T03:00:00.000Z');
    expect(nextRunAt('0 3 * * *', at('2026-12-06T03:00:01.000Z')).toISOString()).toBe('2026-12-07T03:00:00.000Z');
  });

  it('takes 6-field expressions (seconds first)', () => {
    expect(nextRunAt('*/15 * * * * *', at('2026-12-06T10:00:07.000Z')).toISOString()).toBe('2026-12-06T10:00:15.000Z');
  });

  it('rolls over the year', () => {
    expect(nextRunAt('0 0 1 1 *', at('2026-12-06T10:00:00.000Z')).toISOString()).toBe('2027-01-01T00:00:00.000Z');
  });
});
