import type { OutboundContent } from '../../sessions/engine/whatsapp-engine.port';
import type { MediaType } from '../message-types';

/** Where a media message's file comes from: a URL fetched at send time, or bytes given in the request. */
export type MediaSource = { url: string } | { data: Buffer };

/** A media message as accepted (checked, bytes decoded). */
export interface RequestedMedia {
  type: MediaType;
  source: MediaSource;
  mimetype: string;
  filename?: string;
  caption?: string;
  ptt?: boolean;
}

/**
 * A media message as the Message's `content` column keeps it: never the bytes
 * (they are in the Media table, or at the URL), so listings, events and logs
 * stay small.
 */
export interface StoredMedia {
  type: MediaType;
  media: { url: string } | { stored: true };
  mimetype: string;
  filename?: string;
  caption?: string;
  ptt?: boolean;
}

type NonMediaContent = Exclude<OutboundContent, { media: unknown }>;

/** What the `content` column of an outbound Message holds. */
export type StoredContent = NonMediaContent | StoredMedia;

export function isStoredMedia(content: StoredContent): content is StoredMedia {
  return 'media' in content;
}

/** The stored form of an accepted media message (the caller stores data bytes in the Media table). */
export function toStoredMedia(media: RequestedMedia): StoredMedia {
  return {
    type: media.type,
    media: 'url' in media.source ? { url: media.source.url } : { stored: true },
    mimetype: media.mimetype,
    ...(media.filename !== undefined ? { filename: media.filename } : {}),
    ...(media.caption !== undefined ? { caption: media.caption } : {}),
    ...(media.ptt !== undefined ? { ptt: media.ptt } : {}),
  };
}
