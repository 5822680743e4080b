import type { AppConfig } from '../../../config';
import { BaileysEngine, type SandboxEndpoint } from './baileys/baileys-engine';
import type { WhatsAppEngine } from './whatsapp-engine.port';

export type { SandboxEndpoint } from './baileys/baileys-engine';

/**
 * The engine for this process. With a sandbox endpoint every session connects
 * to the sandbox (and the process trusts its test root); without one, to
 * WhatsApp. The caller decides (config SANDBOX); this never guesses.
 */
export function createBaileysEngine(config: AppConfig, sandbox?: SandboxEndpoint): WhatsAppEngine {
  return new BaileysEngine({ logLevel: config.LOG_LEVEL, sandbox, sendAckTimeoutMs: config.SEND_ACK_TIMEOUT_MS });
}

