import { withArticle, type MediaType } from '../message-types';

/**
 * What WhatsApp plays or shows for each media type: a file of another type
 * arrives as an unplayable bubble, so it is refused at accept time (400)
 * rather than sent. Documents take any type. Parameters (`; codecs=opus`) are
 * allowed; the comparison is on `type/subtype`.
 */
const ALLOWED: Record<Exclude<MediaType, 'document'>, readonly string[]> = {
  image: ['image/jpeg', 'image/png', 'image/webp'],
  video: ['video/mp4', 'video/3gpp'],
  audio: ['audio/ogg', 'audio/opus', 'audio/mpeg', 'audio/mp4', 'audio/aac', 'audio/amr', 'audio/x-m4a'],
  sticker: ['image/webp'],
};

/** The mimetype sent when the request names none (WhatsApp's usual one for the type). */
export function defaultMimetype(type: MediaType, ptt: boolean): string {
  switch (type) {
    case 'image':
      return 'image/jpeg';
    case 'video':
      return 'video/mp4';
    case 'audio':
      // WhatsApp plays voice notes only as Opus in Ogg.
      return ptt ? 'audio/ogg; codecs=opus' : 'audio/mpeg';
    case 'sticker':
      return 'image/webp';
    case 'document':
      return 'application/octet-stream';
  }
}

const MIME_SHAPE = /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*(\s*;\s*[a-z0-9!#$&^_.+-]+=("[^"]*"|[a-z0-9!#$&^_.+-]+))*$/i;

/** What is wrong with `mimetype` for a message of `type`, or null. */
export function mimetypeProblem(type: MediaType, mimetype: string): string | null {
  if (!MIME_SHAPE.test(mimetype.trim())) return 'mimetype must look like type/subtype, e.g. image/jpeg';
  if (type === 'document') return null;
  const essence = mimetype.split(';')[0]!.trim().toLowerCase();
  const allowed = ALLOWED[type];
  return allowed.includes(essence) ? null : `mimetype ${essence} is not allowed for ${withArticle(type)} message (allowed: ${allowed.join(', ')})`;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * The bytes of a base64 string, or why it is not one. Standard alphabet with
 * padding, or unpadded; whitespace (line-wrapped base64) is ignored; a data:
 * URL prefix is not base64 and is named as the mistake it is.
 */
export function decodeBase64(value: string): { ok: true; bytes: Buffer } | { ok: false; reason: string } {
  if (/^data:/i.test(value)) return { ok: false, reason: 'must be plain base64, without a data: URL prefix' };
  const compact = value.replace(/\s+/g, '');
  if (compact.length === 0) return { ok: false, reason: 'must not be empty' };
  if (!BASE64.test(compact) || compact.length % 4 === 1) return { ok: false, reason: 'must be valid base64' };
  const bytes = Buffer.from(compact, 'base64');
  if (bytes.length === 0) return { ok: false, reason: 'must not be empty' };
  return { ok: true, bytes };
}
