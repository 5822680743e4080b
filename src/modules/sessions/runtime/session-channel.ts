import { ServiceUnavailableError } from '../../../common/errors/domain-errors';
import type { DownloadedMedia, EngineConnection, OutboundContent, Presence, SendOptions } from '../engine/whatsapp-engine.port';

/**
 * The owner-only handle of one WORKING session, for messaging: the
 * WhatsAppEngine connection methods and nothing else of the runtime. It is
 * bound to the socket it was taken from: once that socket is replaced,
 * closed, or the lease is lost, every call rejects with SessionNotReadyError,
 * so a send never goes out through a socket this worker no longer owns.
 */
export class SessionChannel {
  constructor(
    readonly sessionId: string,
    readonly sessionName: string,
    private readonly connection: EngineConnection,
    private readonly usable: () => boolean,
  ) {}

  get isUsable(): boolean {
    return this.usable();
  }

  send(chatId: string, content: OutboundContent, opts?: SendOptions): Promise<{ waMessageId: string }> {
    return this.guard(() => this.connection.send(chatId, content, opts));
  }

  sendPresence(chatId: string, presence: Presence): Promise<void> {
    return this.guard(() => this.connection.sendPresence(chatId, presence));
  }

  markRead(chatId: string, waMessageIds: string[]): Promise<void> {
    return this.guard(() => this.connection.markRead(chatId, waMessageIds));
  }

  downloadMedia(raw: unknown): Promise<DownloadedMedia> {
    return this.guard(() => this.connection.downloadMedia(raw));
  }

  private async guard<T>(call: () => Promise<T>): Promise<T> {
    if (!this.usable()) throw new SessionNotReadyError(this.sessionName);
    return call();
  }
}

/** The session is not WORKING on this worker any more: release the work and let the new owner take it. */
export class SessionNotReadyError extends ServiceUnavailableError {
  constructor(sessionName: string) {
    super(`Session "${sessionName}" is not working on this worker`);
  }
}
