import { classifyDisconnect } from './classify-disconnect';

describe('classifyDisconnect', () => {
  it.each([
    [401, 'logged_out'],
    [440, 'conflict'],
    [515, 'restart_required'],
    [428, 'connection_closed'],
    [408, 'connection_lost'],
    [500, 'bad_session'],
    [403, 'forbidden'],
    [411, 'multidevice_mismatch'],
    [503, 'unavailable'],
    [999, 'unknown'],
  ])('maps %i to %s', (code, kind) => {
    expect(classifyDisconnect(code, 'Connection Failure')).toEqual({ code, kind, message: 'Connection Failure' });
  });

  it('recognizes an unscanned pairing (all QR refs used)', () => {
    expect(classifyDisconnect(408, 'QR refs attempts ended').kind).toBe('qr_exhausted');
  });

  it('treats a timed-out socket without a code as a lost connection', () => {
    expect(classifyDisconnect(undefined, 'Timed Out').kind).toBe('connection_lost');
    expect(classifyDisconnect(null, 'weird').kind).toBe('unknown');
  });

  it('reports our own close and logout as closed_by_us whatever the code', () => {
    expect(classifyDisconnect(undefined, undefined, true)).toEqual({ code: null, kind: 'closed_by_us', message: 'closed_by_us' });
    expect(classifyDisconnect(401, 'Intentional Logout', true).kind).toBe('closed_by_us');
  });
});
