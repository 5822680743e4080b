import { decodeBase64, defaultMimetype, mimetypeProblem } from './media-rules';

describe('media rules', () => {
  it('allows the types WhatsApp plays for each media type, with parameters', () => {
    expect(mimetypeProblem('image', 'image/png')).toBeNull();
    expect(mimetypeProblem('audio', 'audio/ogg; codecs=opus')).toBeNull();
    expect(mimetypeProblem('sticker', 'IMAGE/WEBP')).toBeNull();
    expect(mimetypeProblem('document', 'application/pdf')).toBeNull();
    expect(mimetypeProblem('document', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document')).toBeNull();
  });

  it('refuses a type the message cannot carry, and names what is allowed', () => {
    expect(mimetypeProblem('image', 'application/pdf')).toMatch(/application\/pdf is not allowed for an image message \(allowed: image\/jpeg/);
    expect(mimetypeProblem('sticker', 'image/png')).toMatch(/not allowed for a sticker/);
    expect(mimetypeProblem('video', 'audio/mpeg')).toMatch(/not allowed/);
  });

  it('refuses what is not a mimetype at all', () => {
    expect(mimetypeProblem('document', 'pdf')).toMatch(/type\/subtype/);
    expect(mimetypeProblem('document', 'text/plain; charset')).toMatch(/type\/subtype/);
  });

  it('defaults to WhatsApp usual types, voice notes as Opus', () => {
    expect(defaultMimetype('audio', true)).toBe('audio/ogg; codecs=opus');
    expect(defaultMimetype('audio', false)).toBe('audio/mpeg');
    expect(defaultMimetype('sticker', false)).toBe('image/webp');
  });

  it('decodes base64, padded or not, line-wrapped or not', () => {
    const bytes = Buffer.from('hello media');
    const b64 = bytes.toString('base64');
    expect(decodeBase64(b64)).toEqual({ ok: true, bytes });
    expect(decodeBase64(b64.replace(/=+$/, ''))).toEqual({ ok: true, bytes });
    expect(decodeBase64(`${b64.slice(0, 4)}\n${b64.slice(4)}`)).toEqual({ ok: true, bytes });
  });

  it('refuses what does not decode, empty data and data: URLs', () => {
    expect(decodeBase64('not base64!')).toEqual({ ok: false, reason: 'must be valid base64' });
    expect(decodeBase64('abcde')).toEqual({ ok: false, reason: 'must be valid base64' });
    expect(decodeBase64('')).toEqual({ ok: false, reason: 'must not be empty' });
    expect(decodeBase64('data:image/png;base64,AAAA')).toEqual({ ok: false, reason: 'must be plain base64, without a data: URL prefix' });
  });
});
