import type { ModuleRef } from '@nestjs/core';
import type { AppConfig } from '../../config';

/** Where sessions connect when SANDBOX=true, and which test root to trust. */
export interface SandboxEndpoint {
  urlForSession(sessionName: string): string;
  readonly rootPublicKey: Uint8Array;
}

interface SandboxNetworkLike {
  urlForSession(sessionName: string): string;
  rootPublicKey: Uint8Array;
}

/**
 * External sandbox (SANDBOX_URL + SANDBOX_ROOT_KEY, e.g. `npm run sandbox`)
 * or the in-process one (SandboxModule), resolved lazily because the network
 * starts after this module is built. Null when SANDBOX is off.
 */
export function sandboxEndpoint(config: AppConfig, moduleRef: ModuleRef, networkToken: unknown): SandboxEndpoint | null {
  if (!config.SANDBOX) return null;
  if (config.SANDBOX_URL) {
    const base = config.SANDBOX_URL;
    const key = new Uint8Array(Buffer.from(config.SANDBOX_ROOT_KEY ?? '', 'base64'));
    return {
      urlForSession: (name) => `${base}${base.includes('?') ? '&' : '?'}session=${encodeURIComponent(name)}`,
      rootPublicKey: key,
    };
  }
  const network = () => moduleRef.get<SandboxNetworkLike>(networkToken as never, { strict: false });
  return {
    urlForSession: (name) => network().urlForSession(name),
    get rootPublicKey() {
      return network().rootPublicKey;
    },
  };
}
