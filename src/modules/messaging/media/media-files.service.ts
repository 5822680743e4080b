import { Readable } from 'node:stream';
import { Inject, Injectable } from '@nestjs/common';
import { ConflictError, GoneError, NotFoundError } from '../../../common/errors/domain-errors';
import { isMediaType } from '../message-types';
import { InboundMediaRepository } from './inbound-media.repository';
import { downloadFilename } from './inbound-media-rules';
import { MEDIA_STORAGE, type MediaStorage } from './media-storage';

/** A media file ready to be sent to a client. */
export interface ServedMedia {
  stream: Readable;
  size: number;
  mimetype: string;
  filename: string;
}

/** 409 while a received file is still being downloaded (the body says `status: DOWNLOADING`). */
export class MediaDownloadingError extends ConflictError {
  override readonly bodyFields = { status: 'DOWNLOADING' };
  constructor() {
    super('The media is still downloading: try again shortly');
  }
}

/** 410 when the file will never be there: its download failed, or history pruned it. */
export class MediaGoneError extends GoneError {
  override readonly bodyFields: Record<string, string>;
  constructor(message: string, status: 'FAILED' | 'GONE') {
    super(message);
    this.bodyFields = { status };
  }
}

/**
 * GET /api/media/:id: the file of a media message by its ZapHub id. A
 * received file comes from the media storage once READY; a file sent as
 * base64 from PostgreSQL.
 */
@Injectable()
export class MediaFilesService {
  constructor(
    private readonly repository: InboundMediaRepository,
    @Inject(MEDIA_STORAGE) private readonly storage: MediaStorage,
  ) {}

  async open(messageId: string): Promise<ServedMedia> {
    const { message, media } = await this.repository.stateOf(messageId);
    if (!message) throw new NotFoundError('Unknown message');
    if (!media) {
      // A received file's row goes only with the history pruning; the phone's own sends and media sent by URL never had one.
      if (message.direction === 'INBOUND' && isMediaType(message.type)) throw new MediaGoneError('The media file is no longer kept', 'GONE');
      throw new NotFoundError(isMediaType(message.type) ? 'ZapHub keeps no file for this message' : 'The message has no media');
    }
    if (media.status === 'DOWNLOADING') throw new MediaDownloadingError();
    if (media.status === 'FAILED') throw new MediaGoneError(`The media could not be downloaded: ${media.error ?? 'unknown error'}`, 'FAILED');
    const filename = downloadFilename(messageId, media.mimetype, media.filename);
    if (!media.storageKey) {
      // A file kept in PostgreSQL (sent as base64); a URL is not kept.
      const bytes = await this.repository.heldBytes(messageId);
      if (!bytes) throw new NotFoundError('ZapHub keeps no file for this message (media sent by URL is not kept)');
      return { stream: Readable.from([bytes]), size: bytes.length, mimetype: media.mimetype, filename };
    }
    const file = await this.storage.open(media.storageKey);
    if (!file) throw new MediaGoneError('The media file is no longer kept', 'GONE');
    return { stream: file.stream, size: file.size, mimetype: media.mimetype, filename };
  }
}
