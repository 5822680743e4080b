import { BufferJSON, type WAMessage } from '@whiskeysockets/baileys';
import { downloadMedia, httpStatusOf, mediaInfo, NoMediaError, reviveRawMessage } from './media-download';

const key = { remoteJid: '5511999998888@s.whatsapp.net', id: 'ABC', fromMe: false };

describe('media download helpers', () => {
  it('finds the media of an image, including inside an ephemeral wrapper, with its declared size', () => {
    expect(mediaInfo({ key, message: { imageMessage: { mimetype: 'image/jpeg' } } })).toEqual({ kind: 'imageMessage', mimetype: 'image/jpeg', filename: null, size: null });
    expect(
      mediaInfo({ key, message: { ephemeralMessage: { message: { documentMessage: { mimetype: 'application/pdf', fileName: 'a.pdf', fileLength: 1234 } } } } }),
    ).toEqual({ kind: 'documentMessage', mimetype: 'application/pdf', filename: 'a.pdf', size: 1234 });
  });

  it('downloads a round video note (ptv) as a video', () => {
    expect(mediaInfo({ key, message: { ptvMessage: { mimetype: 'video/mp4', fileLength: 10 } } })).toEqual({ kind: 'ptvMessage', mimetype: 'video/mp4', filename: null, size: 10 });
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


  it('finds the HTTP status of a failed fetch', () => {
    // Baileys throws a Boom, which carries the status in output.statusCode.
    expect(httpStatusOf(Object.assign(new Error('gone'), { isBoom: true, output: { statusCode: 410 } }))).toBe(410);
    expect(httpStatusOf(Object.assign(new Error('x'), { status: 404 }))).toBe(404);
    expect(httpStatusOf(new Error('socket hang up'))).toBeNull();
  });

  it('refuses a message without media, without asking for a re-upload', async () => {
    const reupload = jest.fn<Promise<WAMessage>, [WAMessage]>();
    await expect(downloadMedia({ key, message: { conversation: 'hi' } }, reupload)).rejects.toBeInstanceOf(NoMediaError);
    await expect(downloadMedia({ key, message: { imageMessage: { mimetype: 'image/jpeg' } } }, reupload)).rejects.toBeInstanceOf(NoMediaError);
    expect(reupload).not.toHaveBeenCalled();
  });
});
