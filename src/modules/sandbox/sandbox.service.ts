import { Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { ConflictError, NotFoundError } from '../../common/errors/domain-errors';
import { SESSION_QR_LOOKUP, type SessionQrLookup } from '../../common/ports/session-qr-lookup';
import { SandboxNetwork } from './network/sandbox-network';
import type { PairingResult } from './network/sandbox-network.types';

/**
 * Runs the in-process sandbox network for the app's lifetime and adds what
 * the REST routes need on top of it (the QR of a session comes from the
 * sessions module, looked up at request time so the modules do not depend on
 * each other).
 */
@Injectable()
export class SandboxService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Sandbox');

  constructor(
    readonly network: SandboxNetwork,
    private readonly moduleRef: ModuleRef,
  ) {}

  // Started in onModuleInit, before sessions are restored (onApplicationBootstrap) and connect to it.
  async onModuleInit(): Promise<void> {
    await this.network.start();
    this.logger.warn(
      `SANDBOX: a FAKE WhatsApp network is running at ${this.network.wsUrl}. Sessions of this process talk to it, not to WhatsApp. ` +
        `Root key (SANDBOX_ROOT_KEY for other processes): ${this.network.rootPublicKey.toString('base64')}`,
    );
  }

  async onApplicationShutdown(): Promise<void> {
    await this.network.close();
  }

  /** A fake phone scans the session's current QR (as the sessions module reports it). */
  async scan(sessionName: string, phone?: string): Promise<PairingResult> {
    const lookup = this.qrLookup();
    if (!lookup) throw new NotFoundError(`Session "${sessionName}" unknown`);
    const qr = await lookup.currentQr(sessionName);
    if (!qr) throw new ConflictError(`Session "${sessionName}" has no QR to scan (it is not in SCAN_QR)`);
    return this.network.scan(sessionName, qr, { phone });
  }

  private qrLookup(): SessionQrLookup | null {
    try {
      return this.moduleRef.get<SessionQrLookup>(SESSION_QR_LOOKUP, { strict: false });
    } catch {
      // No sessions module in this app (yet): no session can be known.
      return null;
    }
  }
}
