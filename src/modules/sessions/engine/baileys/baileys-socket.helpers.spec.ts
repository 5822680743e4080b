import type { BinaryNode } from '@whiskeysockets/baileys';
import { describeIqError, formatPairingCode, serverAck, waitForIdle } from './baileys-socket.helpers';

describe('baileys socket helpers', () => {
  it('formats pairing codes as WhatsApp shows them', () => {
    expect(formatPairingCode('ABCD1234')).toBe('ABCD-1234');
    expect(formatPairingCode('odd')).toBe('odd');
  });

  it('describes an iq error', () => {
    expect(describeIqError({ tag: 'iq', attrs: { type: 'error' }, content: [{ tag: 'error', attrs: { code: '400', text: 'bad-request' } }] })).toBe('400 bad-request');
    expect(describeIqError({ tag: 'iq', attrs: { type: 'error' } })).toBe('error');
  });

  it('waitForIdle waits for a chain of operations to finish', async () => {
    let inFlight = 1;
    let steps = 0;
    const step = async (): Promise<void> => {
      await new Promise((r) => setTimeout(r, 10));
      if (++steps < 3) return step();
      inFlight = 0;
    };
    void step();
    const started = Date.now();
    await waitForIdle(() => inFlight, 1000);
    expect(inFlight).toBe(0);
    expect(Date.now() - started).toBeLessThan(500);
  });

  it("serverAck waits for the message's ack and refuses an error ack or none", async () => {
    const answering = (node: BinaryNode | undefined) => ({ waitForMessage: async <T>(id: string) => (id === 'M1' ? node : undefined) as T });
    await expect(serverAck(answering({ tag: 'ack', attrs: { class: 'message', id: 'M1' } }), 'M1', 100)).resolves.toBeUndefined();
    await expect(serverAck(answering({ tag: 'ack', attrs: { class: 'message', id: 'M1', error: '479' } }), 'M1', 100)).rejects.toThrow('error 479');
    await expect(serverAck(answering(undefined), 'M1', 100)).rejects.toThrow('within 100 ms');
  });
});
