import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { SessionCommandBus, type SessionCommand } from './session-command-bus';
import { SessionRuntime } from './session-runtime.service';

/**
 * Carries out the commands addressed to this worker. `kick` (a wake-up hint)
 * makes the session converge on its row now instead of at the next reconcile
 * tick; nothing is lost when a hint is. A command for a session that is not
 * live here (it moved meanwhile) falls back to a kick.
 */
@Injectable()
export class SessionOwnerCommands implements OnApplicationBootstrap {
  constructor(
    private readonly runtime: SessionRuntime,
    private readonly commands: SessionCommandBus,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.commands.subscribe((command) => this.handle(command));
  }

  async handle(command: SessionCommand): Promise<void> {
    const { sessionId } = command;
    switch (command.type) {
      case 'kick':
        return this.runtime.kick(sessionId, { forwarded: true });
      case 'reconnect':
        return this.runtime.isLive(sessionId) ? this.runtime.reconnectNow(sessionId) : this.runtime.kick(sessionId, { forwarded: true });
      case 'circuit-reset':
        return this.runtime.isLive(sessionId) ? this.runtime.resetCircuit(sessionId) : this.runtime.kick(sessionId, { forwarded: true });
      case 'pairing-code':
        try {
          const code = await this.runtime.pairingCode(sessionId, command.phone);
          await this.commands.reply(command.replyTo, { ok: true, value: code });
        } catch (error) {
          const status = typeof (error as { statusCode?: unknown }).statusCode === 'number' ? (error as { statusCode: number }).statusCode : 409;
          await this.commands.reply(command.replyTo, { ok: false, status, message: (error as Error).message });
        }
        return;
    }
  }
}
