import { backoffDelay, decideReconnect } from './reconnect-policy';

describe('decideReconnect', () => {
  it.each([
    ['logged_out', { action: 'terminal', status: 'LOGGED_OUT', wipeAuth: true }],
    ['conflict', { action: 'terminal', status: 'CONFLICT', wipeAuth: false }],
    ['forbidden', { action: 'terminal', status: 'FAILED' }],
    ['multidevice_mismatch', { action: 'terminal', status: 'FAILED' }],
    ['qr_exhausted', { action: 'terminal', status: 'STOPPED' }],
    ['restart_required', { action: 'reconnect-now' }],
    ['connection_closed', { action: 'backoff' }],
    ['connection_lost', { action: 'backoff' }],
    ['bad_session', { action: 'backoff' }],
    ['unavailable', { action: 'backoff' }],
    ['unknown', { action: 'backoff' }],
    ['closed_by_us', { action: 'ignore' }],
  ] as const)('%s → %o', (kind, expected) => {
    expect(decideReconnect(kind, 'x')).toMatchObject(expected);
  });
});

describe('backoffDelay', () => {
  it('doubles per attempt between half and all of the exponential delay', () => {
    expect(backoffDelay(1, 2000, 300000, () => 0)).toBe(1000);
    expect(backoffDelay(1, 2000, 300000, () => 1)).toBe(2000);
    expect(backoffDelay(3, 2000, 300000, () => 0)).toBe(4000);
    expect(backoffDelay(3, 2000, 300000, () => 1)).toBe(8000);
  });

  it('is capped', () => {
    expect(backoffDelay(50, 2000, 300000, () => 1)).toBe(300000);
    expect(backoffDelay(50, 2000, 300000, () => 0)).toBe(150000);
  });
});
