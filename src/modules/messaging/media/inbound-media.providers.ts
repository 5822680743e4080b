import type { Provider } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../../../config';
import { InboundMediaRepository } from './inbound-media.repository';
import { LocalDiskMediaStorage } from './local-disk-media-storage';
import { MediaDownloadKicks } from './media-download-kicks';
import { MediaDownloadProcessor } from './media-download.processor';
import { MediaDownloadService } from './media-download.service';
import { MediaDownloads } from './media-downloads';
import { MediaFileSweeper } from './media-file-sweeper';
import { MediaFilesService } from './media-files.service';
import { MEDIA_STORAGE } from './media-storage';

export { MediaController } from './media.controller';

/** Received media on every role: the storage (local disk under MEDIA_DIR), the rows, the files route's service. */
export function inboundMediaProviders(): Provider[] {
  return [
    { provide: MEDIA_STORAGE, inject: [APP_CONFIG], useFactory: (config: AppConfig) => new LocalDiskMediaStorage(config.MEDIA_DIR) },
    InboundMediaRepository,
    MediaFilesService,
  ];
}

/** Workers (session owners): the enqueueing, the downloads, their processor and reconciler; the sweeper of unreferenced files. */
export function inboundMediaWorkerProviders(): Provider[] {
  return [MediaDownloads, MediaDownloadService, MediaDownloadProcessor, MediaDownloadKicks, MediaFileSweeper];
}
