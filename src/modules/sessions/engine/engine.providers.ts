import type { Provider } from '@nestjs/common';
import type { AppConfig } from '../../../config';
import { BaileysEngine, type SandboxEndpoint } from './baileys/baileys-engine';
import { WHATSAPP_ENGINE, type WhatsAppEngine } from './whatsapp-engine.port';

export type { SandboxEndpoint } from './baileys/baileys-engine';

/**
 * The engine for this process. With a sandbox endpoint every session connects
 * to the sandbox (and the process trusts its test root); without one, to
 * WhatsApp. The caller decides (config SANDBOX); this never guesses.
 */
export function createBaileysEngine(config: AppConfig, sandbox?: SandboxEndpoint): WhatsAppEngine {
  return new BaileysEngine({ logLevel: config.LOG_LEVEL, sandbox });
}

/** Nest provider for WHATSAPP_ENGINE; `inject` lists the tokens of the config and (optionally) the sandbox endpoint. */
export function whatsAppEngineProvider(configToken: unknown, sandboxToken?: unknown): Provider {
  return {
    provide: WHATSAPP_ENGINE,
    useFactory: (config: AppConfig, sandbox?: SandboxEndpoint) => createBaileysEngine(config, sandbox),
    inject: sandboxToken ? [configToken as string, { token: sandboxToken as string, optional: true }] : [configToken as string],
  };
}
