import {
  Curve,
  decodeBinaryNode,
  encodeBinaryNode,
  makeNoiseHandler,
  NOISE_WA_HEADER,
  proto,
  WA_CERT_DETAILS,
  type BinaryNode,
} from '@whiskeysockets/baileys';
import pino from 'pino';
import { encodeFrame, FrameDecoder } from './frame-codec';
import { NoiseResponder } from './noise-responder';
import { createTestPki } from './test-pki';

/** Runs Baileys' own client noise handler against the responder, without sockets. */
async function handshake() {
  const pki = createTestPki();
  const saved = WA_CERT_DETAILS.PUBLIC_KEY;
  WA_CERT_DETAILS.PUBLIC_KEY = Buffer.from(pki.rootPublicKey);
  try {
    const ephemeral = Curve.generateKeyPair();
    const noiseKey = Curve.generateKeyPair();
    const client = makeNoiseHandler({ keyPair: ephemeral, NOISE_HEADER: NOISE_WA_HEADER, logger: pino({ level: 'silent' }) });
    const decoder = new FrameDecoder();
    const hello = client.encodeFrame(proto.HandshakeMessage.encode({ clientHello: { ephemeral: ephemeral.public } }).finish());
    const [helloFrame] = decoder.push(hello);
    const server = new NoiseResponder(pki, decoder.header!);
    const serverHello = proto.HandshakeMessage.decode(server.respondToHello(proto.HandshakeMessage.decode(helloFrame!).clientHello!.ephemeral!));
    const keyEnc = client.processHandshake(serverHello, noiseKey);
    const payload = client.encrypt(proto.ClientPayload.encode({ username: 5511999998888, device: 3, passive: true }).finish());
    const finish = client.encodeFrame(proto.HandshakeMessage.encode({ clientFinish: { static: keyEnc, payload } }).finish());
    const [finishFrame] = decoder.push(finish);
    const result = server.finish(proto.HandshakeMessage.decode(finishFrame!).clientFinish!);
    await client.finishInit();
    return { pki, client, server, decoder, noiseKey, result };
  } finally {
    WA_CERT_DETAILS.PUBLIC_KEY = saved;
  }
}

describe('Noise XX responder', () => {
  it('completes the handshake with the real Baileys client and reads its ClientPayload', async () => {
    const { result, noiseKey } = await handshake();
    expect(result.clientStaticKey).toEqual(Buffer.from(noiseKey.public));
    expect(Number(result.payload.username)).toBe(5511999998888);
    expect(result.payload.device).toBe(3);
  });

  it('exchanges encrypted binary nodes both ways after the handshake', async () => {
    const { client, server, decoder } = await handshake();
    const node: BinaryNode = { tag: 'iq', attrs: { id: '1', type: 'get', xmlns: 'w:p' }, content: [{ tag: 'ping', attrs: {} }] };
    for (let i = 0; i < 3; i++) {
      const [frame] = decoder.push(client.encodeFrame(encodeBinaryNode(node)));
      expect(await decodeBinaryNode(server.decrypt(frame!))).toEqual(node);
    }
    const received: Array<BinaryNode | Uint8Array> = [];
    const reply = server.encrypt(encodeBinaryNode({ tag: 'iq', attrs: { id: '1', type: 'result' } }));
    await client.decodeFrame(encodeFrame(reply), (frame) => received.push(frame));
    expect(received).toEqual([{ tag: 'iq', attrs: { id: '1', type: 'result' } }]);
  });

  it('signs the chain so that the intermediate verifies against the test root and the leaf against the intermediate', () => {
    const pki = createTestPki();
    const chain = proto.CertChain.decode(pki.certChain);
    const intermediate = proto.CertChain.NoiseCertificate.Details.decode(chain.intermediate!.details!);
    const leaf = proto.CertChain.NoiseCertificate.Details.decode(chain.leaf!.details!);
    expect(intermediate.issuerSerial).toBe(0);
    expect(leaf.key).toEqual(Buffer.from(pki.serverStatic.public));
    expect(Curve.verify(pki.rootPublicKey, chain.intermediate!.details!, chain.intermediate!.signature!)).toBe(true);
    expect(Curve.verify(intermediate.key!, chain.leaf!.details!, chain.leaf!.signature!)).toBe(true);
  });

  it('fails when a client frame does not authenticate', async () => {
    const { server } = await handshake();
    expect(() => server.decrypt(Buffer.alloc(40, 1))).toThrow();
  });
});
