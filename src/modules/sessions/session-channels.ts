import { Injectable, Optional } from '@nestjs/common';
import { SessionLeaseService } from './runtime/session-lease.service';
import type { SessionChannel } from './runtime/session-channel';
import { SessionRuntime } from './runtime/session-runtime.service';

export { SessionChannel, SessionNotReadyError } from './runtime/session-channel';

/**
 * Owner-only send handles, for messaging's processors on workers: `get`
 * returns the channel of a session that is WORKING on this worker under a
 * lease it holds, and null otherwise (not live here, another owner, or not
 * WORKING): the caller then leaves the work to the owner. On `api` replicas
 * there is no runtime and `get` is always null.
 */
@Injectable()
export class SessionChannels {
  constructor(@Optional() private readonly runtime?: SessionRuntime) {}

  get(sessionId: string): SessionChannel | null {
    return this.runtime?.channel(sessionId) ?? null;
  }

  /** Ids of the sessions this worker can send for right now (live here, WORKING, lease held). */
  workingHere(): string[] {
    return (this.runtime?.liveSessions() ?? []).map((driver) => driver.id).filter((id) => this.get(id) !== null);
  }
}

/**
 * Who owns a session right now, on every role: the instance id holding its
 * lease (null when nobody does), to route work to the owner. Also the way to
 * hear that a session became WORKING on this worker (see SessionHooks).
 */
@Injectable()
export class SessionOwnership {
  constructor(private readonly leases: SessionLeaseService) {}

  ownerOf(sessionId: string): Promise<string | null> {
    return this.leases.holder(sessionId);
  }

  /** Owners of several sessions in one round trip. */
  ownersOf(sessionIds: string[]): Promise<Map<string, string | null>> {
    return this.leases.holders(sessionIds);
  }
}
