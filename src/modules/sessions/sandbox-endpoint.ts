import type { SandboxEndpointPort } from '../../common/ports/sandbox-endpoint';
import type { AppConfig } from '../../config';
import type { SandboxEndpoint } from './engine/engine.providers';

/**
 * Where sessions connect when SANDBOX=true, and which test root they trust:
 * an external sandbox (SANDBOX_URL + SANDBOX_ROOT_KEY, e.g. `npm run sandbox`)
 * or the in-process one (the SANDBOX_ENDPOINT port of the sandbox module).
 * Undefined when SANDBOX is off: then sessions connect to WhatsApp and trust
 * only its real root.
 */
export function sandboxEndpoint(config: AppConfig, inProcess: SandboxEndpointPort | null | undefined): SandboxEndpoint | undefined {
  if (!config.SANDBOX) return undefined;
  if (config.SANDBOX_URL) {
    const base = config.SANDBOX_URL;
    return {
      urlForSession: (name) => `${base}${base.includes('?') ? '&' : '?'}session=${encodeURIComponent(name)}`,
      rootPublicKey: new Uint8Array(Buffer.from(config.SANDBOX_ROOT_KEY ?? '', 'base64')),
    };
  }
  if (!inProcess) throw new Error('SANDBOX=true but the in-process sandbox network is not loaded');
  return { urlForSession: (name) => inProcess.urlForSession(name), rootPublicKey: inProcess.rootPublicKey };
}
