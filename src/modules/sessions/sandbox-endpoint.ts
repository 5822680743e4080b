import type { SandboxEndpointPort } from '../../common/ports/sandbox-endpoint';
import type { AppConfig } from '../../config';
import type { SandboxEndpoint } from './engine/engine.providers';

/**
 * Where sessions connect when SANDBOX=true, and which test root and media CA
 * they trust: an external sandbox (SANDBOX_URL + SANDBOX_ROOT_KEY, and
 * SANDBOX_MEDIA_CA for media, e.g. `npm run sandbox`) or the in-process one
 * (the SANDBOX_ENDPOINT port of the sandbox module). Undefined when SANDBOX
 * is off: then sessions connect to WhatsApp and trust only its real root and
 * the public certificate authorities.
 */
export function sandboxEndpoint(config: AppConfig, inProcess: SandboxEndpointPort | null | undefined): SandboxEndpoint | undefined {
  if (!config.SANDBOX) return undefined;
  if (config.SANDBOX_URL) {
    const base = config.SANDBOX_URL;
    const mediaCaPem = externalMediaCa(config);
    return {
      urlForSession: (name) => `${base}${base.includes('?') ? '&' : '?'}session=${encodeURIComponent(name)}`,
      rootPublicKey: new Uint8Array(Buffer.from(config.SANDBOX_ROOT_KEY ?? '', 'base64')),
      ...(mediaCaPem ? { mediaCaPem } : {}),
    };
  }
  if (!inProcess) throw new Error('SANDBOX=true but the in-process sandbox network is not loaded');
  return {
    urlForSession: (name) => inProcess.urlForSession(name),
    rootPublicKey: inProcess.rootPublicKey,
    // A getter: the network makes its media CA when it starts, after this endpoint is built.
    get mediaCaPem() {
      return inProcess.mediaCaPem;
    },
  };
}

/**
 * The media CA an external sandbox printed (`SANDBOX_MEDIA_CA`, base64 of the
 * PEM; a raw PEM works too). Without it media of an external sandbox is not
 * trusted, and its uploads and downloads fail.
 */
function externalMediaCa(config: AppConfig): string | undefined {
  const value = config.SANDBOX_MEDIA_CA;
  if (!value) return undefined;
  const pem = value.includes('-----BEGIN') ? value : Buffer.from(value, 'base64').toString('utf8');
  return pem.includes('-----BEGIN CERTIFICATE-----') ? pem : undefined;
}
