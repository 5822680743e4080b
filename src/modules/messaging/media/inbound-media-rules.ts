import { NoMediaError, type InboundMedia } from '../../sessions/engine/whatsapp-engine.port';
import type { MediaType } from '../message-types';
import type { AnnouncedMedia, MediaState } from './inbound-media.repository';
import { MediaTooLargeError } from './media-storage';

/** `media.url` of events: the media route (it needs the API key). */
export function mediaUrl(messageId: string): string {
  return `/api/media/${messageId}`;
}

/** What WhatsApp sends when the sender gave no mimetype. */
const DEFAULT_MIMETYPE: Record<MediaType, string> = {
  image: 'image/jpeg',
  video: 'video/mp4',
  audio: 'audio/ogg; codecs=opus',
  document: 'application/octet-stream',
  sticker: 'image/webp',
};

/** The file a received message announces, with the usual mimetype of its type when it gave none. */
export function announcedMedia(type: MediaType, media: InboundMedia | null | undefined): AnnouncedMedia {
  return { mimetype: media?.mimetype || DEFAULT_MIMETYPE[type], filename: media?.filename ?? null, size: media?.size ?? null };
}

/** `media` of message.received: known at once, before the download. */
export function receivedMediaView(messageId: string, media: AnnouncedMedia): { mimetype: string; filename: string | null; size: number | null; url: string } {
  return { mimetype: media.mimetype, filename: media.filename, size: media.size, url: mediaUrl(messageId) };
}

/** `media` of message.media: the download's outcome. */
export function finishedMediaView(media: MediaState): Record<string, unknown> {
  return {
    mimetype: media.mimetype,
    filename: media.filename,
    size: media.size,
    url: mediaUrl(media.messageId),
    status: media.status,
    ...(media.status === 'FAILED' ? { error: media.error } : {}),
  };
}

/**
 * After a failed attempt (`attempt` counts from 1): `fail` for good when
 * retrying cannot help (too large, no media in the message) or the attempts
 * are used up, else `retry`.
 */
export function afterFailure(error: unknown, attempt: number, maxAttempts: number): 'fail' | 'retry' {
  if (error instanceof MediaTooLargeError || error instanceof NoMediaError) return 'fail';
  return attempt >= maxAttempts ? 'fail' : 'retry';
}

/** A failure as stored on the row and shown in message.media (no stack, one line). */
export function describeFailure(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return (message || 'download failed').replace(/\s+/g, ' ').trim();
}

const EXTENSIONS: Record<string, string> = {
  'image/jpeg': 'jpg',
  'image/png': 'png',
  'image/webp': 'webp',
  'image/gif': 'gif',
  'video/mp4': 'mp4',
  'video/3gpp': '3gp',
  'audio/ogg': 'ogg',
  'audio/mpeg': 'mp3',
  'audio/mp4': 'm4a',
  'audio/aac': 'aac',
  'audio/amr': 'amr',
  'application/pdf': 'pdf',
};

/** The file name a download is offered under: the sender's (documents), else the message id and the usual extension. */
export function downloadFilename(messageId: string, mimetype: string, filename: string | null): string {
  if (filename && filename.trim()) return filename.trim();
  const ext = EXTENSIONS[mimetype.split(';')[0]!.trim().toLowerCase()];
  return ext ? `${messageId}.${ext}` : messageId;
}

/**
 * `Content-Disposition: attachment` for a file name (RFC 6266): an ASCII
 * fallback with quotes and backslashes replaced, and `filename*` (RFC 5987)
 * for the exact name when it is not plain ASCII.
 */
export function contentDisposition(filename: string): string {
  const ascii = filename.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  const exact = ascii === filename ? '' : `; filename*=UTF-8''${encodeRfc5987(filename)}`;
  return `attachment; filename="${ascii}"${exact}`;
}

function encodeRfc5987(value: string): string {
  return encodeURIComponent(value).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}
