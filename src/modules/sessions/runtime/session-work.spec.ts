import type { SessionRecord } from '../session.types';
import { workFor } from './session-work';

const now = new Date('2026-12-01T12:00:00Z');
const row = (over: Partial<SessionRecord>): SessionRecord =>
  ({ desiredState: 'RUNNING', status: 'STOPPED', pendingAction: null, circuitState: 'CLOSED', nextReconnectAt: null, ...over }) as SessionRecord;

describe('workFor', () => {
  it('runs every desired-RUNNING session whatever its status says (a stuck STOPPED one included)', () => {
    for (const status of ['STOPPED', 'QUEUED', 'STARTING', 'SCAN_QR', 'WORKING', 'RECONNECTING', 'LOGGED_OUT', 'CONFLICT', 'FAILED'] as const) {
      expect({ status, work: workFor(row({ status }), now) }).toEqual({ status, work: 'run' });
    }
  });

  it('waits for the trial time of an open circuit, then runs it', () => {
    const failed = { status: 'FAILED', circuitState: 'OPEN' } as const;
    expect(workFor(row({ ...failed, nextReconnectAt: new Date(now.getTime() + 1000) }), now)).toBe('none');
    expect(workFor(row({ ...failed, nextReconnectAt: new Date(now.getTime() - 1) }), now)).toBe('run');
  });

  it('unlinks pending logouts and deletes, settles stopped rows that still look live', () => {
    expect(workFor(row({ desiredState: 'STOPPED', pendingAction: 'LOGOUT' }), now)).toBe('unlink');
    expect(workFor(row({ desiredState: 'STOPPED', pendingAction: 'DELETE', status: 'WORKING' }), now)).toBe('unlink');
    expect(workFor(row({ desiredState: 'STOPPED', status: 'WORKING' }), now)).toBe('settle');
    expect(workFor(row({ desiredState: 'STOPPED', status: 'QUEUED' }), now)).toBe('settle');
    expect(workFor(row({ desiredState: 'STOPPED', status: 'STOPPED' }), now)).toBe('none');
    expect(workFor(row({ desiredState: 'STOPPED', status: 'LOGGED_OUT' }), now)).toBe('none');
  });
});
