import { Logger } from '@nestjs/common';
import type { InboundMessage } from '../engine/whatsapp-engine.port';
import type { InboundSink } from '../ports/inbound-sink.port';
import { SessionHooks } from '../session-hooks';
import { InboundRelay } from './inbound-relay';
import { SessionContext } from './session-context';
import type { SessionMetrics } from './session-metrics';

class Deferred {
  resolve!: () => void;
  readonly promise = new Promise<void>((resolve) => (this.resolve = resolve));
}

const turns = async (n = 5) => {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
};

const message = (waMessageId: string, extra: Partial<InboundMessage> = {}): InboundMessage =>
  ({ waMessageId, chatId: '5511900000001@s.whatsapp.net', fromMe: false, pushName: null, type: 'text', text: waMessageId, timestamp: new Date(), ...extra }) as InboundMessage;

function relay() {
  const gates = new Map<string, Deferred>();
  const recorded: string[] = [];
  const sink: InboundSink = {
    received: jest.fn(async (_s, m: InboundMessage) => {
      await gates.get(m.waMessageId)?.promise;
      recorded.push(m.waMessageId);
    }),
    ownMessage: jest.fn(async (_s, m: InboundMessage) => void recorded.push(`own:${m.waMessageId}`)),
    receipt: jest.fn(async (_s, r) => void recorded.push(`receipt:${r.waMessageId}`)),
  };
  const hooks = new SessionHooks();
  hooks.setInboundSink(sink);
  const metrics = { inboundFailed: jest.fn() } as unknown as SessionMetrics;
  const context = new SessionContext('relay');
  const gate = (id: string) => {
    const d = new Deferred();
    gates.set(id, d);
    return d;
  };
  return { relay: new InboundRelay({ id: 's1', name: 'relay' }, context, hooks, metrics), sink, recorded, gate, context };
}

describe('InboundRelay', () => {
  beforeAll(() => Logger.overrideLogger(false));

  it('drain() settles once what was handed so far is through, not what arrives later', async () => {
    const h = relay();
    const a = h.gate('A');
    const c = h.gate('C');
    h.relay.message(message('A'));
    const afterA = h.relay.drain();
    await turns();
    h.relay.message(message('B'));
    h.relay.message(message('C'));
    const afterC = h.relay.drain();
    let aThrough = false;
    let cThrough = false;
    void afterA.then(() => (aThrough = true));
    void afterC.then(() => (cThrough = true));
    await turns();
    expect(aThrough).toBe(false);
    a.resolve();
    await turns();
    expect(aThrough).toBe(true); // C still held: A is through all the same
    expect(cThrough).toBe(false);
    expect(h.context.hasSeen('A')).toBe(true);
    expect(h.context.hasSeen('B')).toBe(true); // B was handed over with C and is recorded
    expect(h.context.hasSeen('C')).toBe(false); // marked seen only once recorded
    c.resolve();
    await afterC;
    expect(h.recorded).toEqual(['A', 'B', 'C']);
    expect(h.context.hasSeen('C')).toBe(true);
  });

  it('drain() of a duplicate dropped at once still waits for the items before it', async () => {
    const h = relay();
    const a = h.gate('A');
    h.relay.message(message('A'));
    await turns();
    h.relay.message(message('B'));
    h.relay.message(message('B')); // twice in one run: handed over once
    const afterDuplicate = h.relay.drain();
    let through = false;
    void afterDuplicate.then(() => (through = true));
    await turns();
    expect(through).toBe(false);
    a.resolve();
    await afterDuplicate;
    expect(h.recorded).toEqual(['A', 'B']);
    expect(h.sink.received).toHaveBeenCalledTimes(2);
  });

  it('hands a run of receipts over at once, after the messages before them', async () => {
    const h = relay();
    const a = h.gate('A');
    h.relay.message(message('A'));
    h.relay.receipt({ waMessageId: 'OUT-1', chatId: 'x', status: 'DELIVERED' });
    h.relay.receipt({ waMessageId: 'OUT-2', chatId: 'x', status: 'READ' });
    await turns();
    expect(h.sink.receipt).not.toHaveBeenCalled();
    a.resolve();
    await h.relay.drain();
    expect(h.recorded).toEqual(['A', 'receipt:OUT-1', 'receipt:OUT-2']);
  });
});
