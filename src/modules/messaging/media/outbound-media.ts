import { Injectable } from '@nestjs/common';
import type { OutboundContent } from '../../sessions/engine/whatsapp-engine.port';
import { MessageRepository, type MessageRecord } from '../message.repository';
import { isStoredMedia } from './media-content';
import { MediaFetcher, MediaFetchError } from './media-fetcher';

/**
 * The content a drain hands to the engine: a media message's file is read
 * when it is sent, from the Media table (base64 given at accept time) or its
 * URL (downloaded now, through the SSRF guard). A failure here is a failed
 * attempt like a failed send (a permanent one fails the message at once).
 */
@Injectable()
export class OutboundMedia {
  constructor(
    private readonly messages: MessageRepository,
    private readonly fetcher: MediaFetcher,
  ) {}

  async contentToSend(message: MessageRecord): Promise<OutboundContent> {
    const content = message.content;
    if (!content) throw new MediaFetchError('the message has no content to send', true);
    if (!isStoredMedia(content)) return content;
    const { media, ...rest } = content;
    if ('url' in media) return { ...rest, media: (await this.fetcher.fetch(media.url)).data };
    const file = await this.messages.mediaFileOf(message.id);
    if (!file) throw new MediaFetchError('the media file of this message is gone', true);
    return { ...rest, media: file.data, ...(file.filename ? { filename: file.filename } : {}) };
  }
}
