import { SessionContext } from './session-context';

describe('SessionContext', () => {
  it('detects duplicate inbound ids', () => {
    const ctx = new SessionContext('s');
    expect(ctx.markInbound('A')).toBe(true);
    expect(ctx.markInbound('A')).toBe(false);
    expect(ctx.markInbound('B')).toBe(true);
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
