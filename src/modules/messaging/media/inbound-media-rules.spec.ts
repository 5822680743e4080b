import { NoMediaError } from '../../sessions/engine/whatsapp-engine.port';
import { afterFailure, announcedMedia, contentDisposition, describeFailure, downloadFilename, finishedMediaView, mediaUrl, receivedMediaView } from './inbound-media-rules';
import { MediaTooLargeError } from './media-storage';

const ID = 'a1b2c3d4-0000-4000-8000-000000000001';

describe('received media rules', () => {
  it('announces the file with the usual mimetype of its type when the sender gave none', () => {
    expect(announcedMedia('image', { mimetype: 'image/png', filename: null, size: 10 })).toEqual({ mimetype: 'image/png', filename: null, size: 10 });
    expect(announcedMedia('audio', null)).toEqual({ mimetype: 'audio/ogg; codecs=opus', filename: null, size: null });
    expect(announcedMedia('document', { mimetype: '', filename: 'a.pdf', size: null })).toEqual({ mimetype: 'application/octet-stream', filename: 'a.pdf', size: null });
    expect(announcedMedia('sticker', undefined).mimetype).toBe('image/webp');
  });

  it('gives message.received and message.media their media views, with the media route as url', () => {
    expect(mediaUrl(ID)).toBe(`/api/media/${ID}`);
    expect(receivedMediaView(ID, { mimetype: 'image/jpeg', filename: null, size: 5 })).toEqual({ mimetype: 'image/jpeg', filename: null, size: 5, url: `/api/media/${ID}` });
    const state = { messageId: ID, mimetype: 'video/mp4', filename: null, size: 9, sha256: 'ab', storageKey: 'k', error: null };
    expect(finishedMediaView({ ...state, status: 'READY' })).toEqual({ mimetype: 'video/mp4', filename: null, size: 9, url: `/api/media/${ID}`, status: 'READY' });
    expect(finishedMediaView({ ...state, status: 'FAILED', error: 'too large' })).toMatchObject({ status: 'FAILED', error: 'too large' });
  });

  it('retries a failed download until the attempts are used up, and never what retrying cannot fix', () => {
    const network = new Error('socket hang up');
    expect(afterFailure(network, 1, 3)).toBe('retry');
    expect(afterFailure(network, 2, 3)).toBe('retry');
    expect(afterFailure(network, 3, 3)).toBe('fail');
    expect(afterFailure(new MediaTooLargeError(10), 1, 3)).toBe('fail');
    expect(afterFailure(new NoMediaError('none'), 1, 3)).toBe('fail');
  });

  it('describes a failure on one line', () => {
    expect(describeFailure(new Error('Failed to fetch\n  stream'))).toBe('Failed to fetch stream');
    expect(describeFailure('x')).toBe('x');
    expect(describeFailure(new Error(''))).toBe('download failed');
  });

  it('offers the sender file name, else the message id with the usual extension', () => {
    expect(downloadFilename(ID, 'application/pdf', ' report.pdf ')).toBe('report.pdf');
    expect(downloadFilename(ID, 'image/jpeg', null)).toBe(`${ID}.jpg`);
    expect(downloadFilename(ID, 'audio/ogg; codecs=opus', null)).toBe(`${ID}.ogg`);
    expect(downloadFilename(ID, 'application/x-unknown', '')).toBe(ID);
  });

  it('writes Content-Disposition with an ASCII fallback and the exact name (RFC 6266/5987)', () => {
    expect(contentDisposition('photo.jpg')).toBe('attachment; filename="photo.jpg"');
    expect(contentDisposition('a "quoted" \\ name.txt')).toBe(`attachment; filename="a _quoted_ _ name.txt"; filename*=UTF-8''a%20%22quoted%22%20%5C%20name.txt`);
    expect(contentDisposition('relatório (1).pdf')).toBe(`attachment; filename="relat_rio (1).pdf"; filename*=UTF-8''relat%C3%B3rio%20%281%29.pdf`);
    expect(contentDisposition('line\r\nbreak')).toBe('attachment; filename="line__break"; filename*=UTF-8\'\'line%0D%0Abreak');
  });
});
