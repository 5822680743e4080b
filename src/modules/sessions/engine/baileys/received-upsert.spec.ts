import { isReceivedUpsert } from './baileys-connection';

describe('isReceivedUpsert', () => {
  it('takes every notify, and an append from someone else (delivered while offline)', () => {
    expect(isReceivedUpsert('notify', { key: { fromMe: false, remoteJid: '5511999990000@s.whatsapp.net' } })).toBe(true);
    expect(isReceivedUpsert('notify', { key: { fromMe: true, remoteJid: '5511999990000@s.whatsapp.net' } })).toBe(true);
    expect(isReceivedUpsert('append', { key: { fromMe: false, remoteJid: '5511999990000@s.whatsapp.net' } })).toBe(true);
  });

  it('leaves our own sends echoed as append, and channel posts', () => {
    expect(isReceivedUpsert('append', { key: { fromMe: true, remoteJid: '5511999990000@s.whatsapp.net' } })).toBe(false);
    expect(isReceivedUpsert('append', { key: { fromMe: false, remoteJid: '120363000000000000@newsletter' } })).toBe(false);
  });
});
