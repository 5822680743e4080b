import { Inject, Injectable, Logger, Optional, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { ConflictError, NotFoundError } from '../../common/errors/domain-errors';
import { SESSION_QR_LOOKUP, type SessionQrLookup } from '../../common/ports/session-qr-lookup';
import { SandboxNetwork } from './network/sandbox-network';
import type { PairingResult } from './network/sandbox-network.types';

/**
 * Runs the in-process sandbox network for the app's lifetime and adds what
 * the REST routes need on top of it (the QR of a session comes from the
 * sessions module's SESSION_QR_LOOKUP port, so the sandbox does not depend on
 * sessions' internals).
 */
@Injectable()
export class SandboxService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Sandbox');

  constructor(
    readonly network: SandboxNetwork,
    // The port the sessions module exports; absent in an app without sessions.
    @Optional() @Inject(SESSION_QR_LOOKUP) private readonly qrLookup?: SessionQrLookup,
  ) {}

  // Started in onModuleInit, before sessions are restored (onApplicationBootstrap) and connect to it.
  async onModuleInit(): Promise<void> {
    await this.network.start();
    this.logger.warn(
      `SANDBOX: a FAKE WhatsApp network is running at ${this.network.wsUrl}. Sessions of this process talk to it, not to WhatsApp. ` +
        `Root key (SANDBOX_ROOT_KEY for other processes): ${this.network.rootPublicKey.toString('base64')}. ` +
        `Media server: https://${this.network.mediaHost} (its test CA is trusted by this process's sessions only).`,
    );
  }

  async onApplicationShutdown(): Promise<void> {
    await this.network.close();
  }

  /** A fake phone scans the session's current QR (as the sessions module reports it). */
  async scan(sessionName: string, phone?: string): Promise<PairingResult> {
    const lookup = this.qrLookup;
    if (!lookup) throw new NotFoundError(`Session "${sessionName}" unknown`);
    const qr = await lookup.currentQr(sessionName);
    if (!qr) throw new ConflictError(`Session "${sessionName}" has no QR to scan (it is not in SCAN_QR)`);
    return this.network.scan(sessionName, qr, { phone });
  }
}
