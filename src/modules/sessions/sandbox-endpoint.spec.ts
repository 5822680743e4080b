import type { SandboxEndpointPort } from '../../common/ports/sandbox-endpoint';
import type { AppConfig } from '../../config';
import { sandboxEndpoint } from './sandbox-endpoint';

const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const config = (values: Record<string, unknown>) => values as unknown as AppConfig;

describe('sandboxEndpoint', () => {
  it('is undefined without SANDBOX', () => {
    expect(sandboxEndpoint(config({ SANDBOX: false }), null)).toBeUndefined();
  });

  it('reads the media CA of the in-process network when a session connects, not when built', () => {
    let started = false;
    const network: SandboxEndpointPort = {
      urlForSession: (name) => `ws://127.0.0.1:1/ws/chat?session=${name}`,
      rootPublicKey: new Uint8Array(32),
      get mediaCaPem() {
        if (!started) throw new Error('not started');
        return PEM;
      },
    };
    const endpoint = sandboxEndpoint(config({ SANDBOX: true }), network)!;
    started = true;
    expect(endpoint.mediaCaPem).toBe(PEM);
    expect(endpoint.urlForSession('a')).toBe('ws://127.0.0.1:1/ws/chat?session=a');
  });

  it('takes the media CA of an external sandbox from SANDBOX_MEDIA_CA (base64 of the PEM) when the config has it', () => {
    const external = { SANDBOX: true, SANDBOX_URL: 'ws://127.0.0.1:9/ws/chat', SANDBOX_ROOT_KEY: 'AAAA' };
    expect(sandboxEndpoint(config(external), null)!.mediaCaPem).toBeUndefined();
    expect(sandboxEndpoint(config({ ...external, SANDBOX_MEDIA_CA: Buffer.from(PEM).toString('base64') }), null)!.mediaCaPem).toBe(PEM);
    expect(sandboxEndpoint(config({ ...external, SANDBOX_MEDIA_CA: PEM }), null)!.mediaCaPem).toBe(PEM);
    expect(sandboxEndpoint(config({ ...external, SANDBOX_MEDIA_CA: 'bm90IGEgY2VydA==' }), null)!.mediaCaPem).toBeUndefined();
  });
});
