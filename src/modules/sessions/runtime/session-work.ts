import { LIVE_STATUSES, type SessionRecord } from '../session.types';

/**
 * What a session needs from a worker that does not run it yet:
 * - `run`: it should be live (desired RUNNING), whatever its status says,
 *   unless its circuit is open and the trial is not due;
 * - `unlink`: a LOGOUT or DELETE is pending (needs a socket briefly, no slot);
 * - `settle`: desired STOPPED but the row still looks live (its owner died
 *   before writing STOPPED): only the row needs fixing;
 * - `none`: nothing to do.
 */
export type SessionWork = 'run' | 'unlink' | 'settle' | 'none';

export function workFor(row: SessionRecord, now: Date): SessionWork {
  if (row.pendingAction === 'LOGOUT' || row.pendingAction === 'DELETE') return 'unlink';
  if (row.desiredState === 'RUNNING') {
    const trialNotDue = row.status === 'FAILED' && row.circuitState === 'OPEN' && row.nextReconnectAt !== null && row.nextReconnectAt > now;
    return trialNotDue ? 'none' : 'run';
  }
  return row.status === 'QUEUED' || LIVE_STATUSES.includes(row.status) ? 'settle' : 'none';
}
