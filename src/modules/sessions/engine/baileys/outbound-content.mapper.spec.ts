import { buildVcard, toBaileysContent } from './outbound-content.mapper';

const chat = '5511999998888@s.whatsapp.net';

describe('toBaileysContent', () => {
  it('maps text, media, location, contact and reaction', () => {
    const buf = Buffer.from('x');
    expect(toBaileysContent(chat, { type: 'text', text: 'hi' })).toEqual({ text: 'hi' });
    expect(toBaileysContent(chat, { type: 'image', media: buf, caption: 'c', mimetype: 'image/png' })).toEqual({ image: buf, caption: 'c', mimetype: 'image/png' });
    expect(toBaileysContent(chat, { type: 'video', media: { url: 'https://x/v.mp4' } })).toMatchObject({ video: { url: 'https://x/v.mp4' } });
    expect(toBaileysContent(chat, { type: 'audio', media: buf, ptt: true })).toEqual({ audio: buf, ptt: true, mimetype: 'audio/ogg; codecs=opus' });
    expect(toBaileysContent(chat, { type: 'document', media: buf, filename: 'a.pdf' })).toMatchObject({ document: buf, fileName: 'a.pdf', mimetype: 'application/octet-stream' });
    expect(toBaileysContent(chat, { type: 'sticker', media: buf })).toMatchObject({ sticker: buf });
    expect(toBaileysContent(chat, { type: 'location', latitude: -23.5, longitude: -46.6, name: 'SP' })).toEqual({
      location: { degreesLatitude: -23.5, degreesLongitude: -46.6, name: 'SP', address: undefined },
    });
    expect(toBaileysContent(chat, { type: 'contact', name: 'Bob', phone: '+55 11 99999-0000' })).toMatchObject({
      contacts: { displayName: 'Bob', contacts: [{ displayName: 'Bob', vcard: expect.stringContaining('waid=5511999990000:+5511999990000') }] },
    });
    expect(toBaileysContent(chat, { type: 'reaction', targetWaMessageId: 'M1', targetFromMe: true, emoji: '👍' })).toEqual({
      react: { text: '👍', key: { remoteJid: chat, id: 'M1', fromMe: true } },
    });
  });

  it('escapes vCard special characters in the name', () => {
    expect(buildVcard('Doe; John, Jr.\nX', '1')).toContain('FN:Doe\\; John\\, Jr.\\nX');
  });
});
