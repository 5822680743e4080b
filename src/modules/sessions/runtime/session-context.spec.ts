import { SessionContext } from './session-context';

describe('SessionContext', () => {
  it('counts an inbound id as seen only once it is marked', () => {
    const ctx = new SessionContext('s');
    expect(ctx.hasSeen('A')).toBe(false);
    expect(ctx.hasSeen('A')).toBe(false);
    ctx.markSeen('A');
    expect(ctx.hasSeen('A')).toBe(true);
    expect(ctx.hasSeen('B')).toBe(false);
  });

  it('bounds the contacts cache at 1000 entries and clears everything', () => {
    const ctx = new SessionContext('s');
    for (let i = 0; i < 1500; i++) ctx.rememberContact(`${i}@s.whatsapp.net`, `n${i}`);
    expect(ctx.sizes().contacts).toBe(1000);
    expect(ctx.contactName('1499@s.whatsapp.net')).toBe('n1499');
    expect(ctx.contactName('0@s.whatsapp.net')).toBeUndefined();
    ctx.clear();
    expect(ctx.sizes()).toEqual({ inbound_dedupe: 0, contacts: 0 });
  });
});
