import { waMessageIdFor } from './wa-message-id';

describe('waMessageIdFor', () => {
  it('is stable for one message, different across messages, and shaped like a Baileys id', () => {
    const a = waMessageIdFor('0b3c6f5e-8a52-4d7e-9b1f-2f6c1d0e9a11');
    expect(waMessageIdFor('0b3c6f5e-8a52-4d7e-9b1f-2f6c1d0e9a11')).toBe(a);
    expect(waMessageIdFor('0b3c6f5e-8a52-4d7e-9b1f-2f6c1d0e9a12')).not.toBe(a);
    expect(a).toMatch(/^3EB0[0-9A-F]{18}$/);
  });
});
