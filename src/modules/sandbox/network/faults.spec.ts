import { FaultsValidationError, MAX_LATENCY_MS, MAX_MEDIA_DOWNLOAD_FAILURES, validateFaults } from './faults';

describe('fault validation', () => {
  it('accepts every fault and keeps only the active ones', () => {
    expect(validateFaults({ latencyMs: 250, dropRate: 0.25, refuseConnections: true })).toEqual({ latencyMs: 250, dropRate: 0.25, refuseConnections: true });
    expect(validateFaults({ latencyMs: 0, dropRate: 0, refuseConnections: false })).toEqual({});
    expect(validateFaults({})).toEqual({});
    expect(validateFaults({ dropRate: 1, latencyMs: MAX_LATENCY_MS })).toEqual({ dropRate: 1, latencyMs: MAX_LATENCY_MS });
    expect(validateFaults({ mediaDownloadFailures: 2 })).toEqual({ mediaDownloadFailures: 2 });
    expect(validateFaults({ mediaDownloadFailures: 0 })).toEqual({});
  });

  it.each([
    [{ latencyMs: -1 }, 'latencyMs'],
    [{ latencyMs: 1.5 }, 'latencyMs'],
    [{ latencyMs: MAX_LATENCY_MS + 1 }, 'latencyMs'],
    [{ latencyMs: '10' }, 'latencyMs'],
    [{ dropRate: 1.01 }, 'dropRate'],
    [{ dropRate: -0.1 }, 'dropRate'],
    [{ dropRate: Number.NaN }, 'dropRate'],
    [{ refuseConnections: 'yes' }, 'refuseConnections'],
    [{ mediaDownloadFailures: -1 }, 'mediaDownloadFailures'],
    [{ mediaDownloadFailures: 1.5 }, 'mediaDownloadFailures'],
    [{ mediaDownloadFailures: MAX_MEDIA_DOWNLOAD_FAILURES + 1 }, 'mediaDownloadFailures'],
    [{ jitter: 5 }, 'jitter'],
  ])('rejects %j naming %s', (input, field) => {
    try {
      validateFaults(input);
      throw new Error('expected a validation error');
    } catch (error) {
      expect(error).toBeInstanceOf(FaultsValidationError);
      expect((error as FaultsValidationError).problems.map((p) => p.field)).toEqual([field]);
    }
  });

  it('lists every problem at once and rejects non-objects', () => {
    expect(() => validateFaults({ latencyMs: -1, dropRate: 2 })).toThrow(/latencyMs.*dropRate/);
    expect(() => validateFaults(null)).toThrow(FaultsValidationError);
    expect(() => validateFaults([])).toThrow(FaultsValidationError);
  });
});
