import { BufferJSON } from '@whiskeysockets/baileys';
import { mediaInfo, reviveRawMessage } from './media-download';

const key = { remoteJid: '5511999998888@s.whatsapp.net', id: 'ABC', fromMe: false };

describe('media download helpers', () => {
  it('finds the media of an image, including inside an ephemeral wrapper', () => {
    expect(mediaInfo({ key, message: { imageMessage: { mimetype: 'image/jpeg' } } })).toEqual({ kind: 'imageMessage', mimetype: 'image/jpeg', filename: null });
    expect(
      mediaInfo({ key, message: { ephemeralMessage: { message: { documentMessage: { mimetype: 'application/pdf', fileName: 'a.pdf' } } } } }),
    ).toEqual({ kind: 'documentMessage', mimetype: 'application/pdf', filename: 'a.pdf' });
  });

  it('says there is no media in a text or location', () => {
    expect(mediaInfo({ key, message: { conversation: 'hi' } })).toBeNull();
    expect(mediaInfo({ key, message: { locationMessage: { degreesLatitude: 1, degreesLongitude: 2 } } })).toBeNull();
    expect(mediaInfo({ key })).toBeNull();
  });

  it('revives the binary fields of a stored raw copy', () => {
    const mediaKey = Buffer.from([1, 2, 3]);
    const raw = JSON.parse(JSON.stringify({ key, message: { imageMessage: { mediaKey } } }, BufferJSON.replacer)) as unknown;
    const revived = reviveRawMessage(raw);
    expect(Buffer.isBuffer(revived.message?.imageMessage?.mediaKey)).toBe(true);
    expect(revived.message?.imageMessage?.mediaKey).toEqual(mediaKey);
  });
});
