import { Controller, Get, Param, StreamableFile } from '@nestjs/common';
import { ApiConflictResponse, ApiGoneResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiProduces, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { MessageIdParam } from '../messages.dto';
import { contentDisposition } from './inbound-media-rules';
import { MediaFilesService } from './media-files.service';

/** The files of media messages (`media.url` of message.received and message.media). */
@ApiTags('messages')
@ApiSecurity('api-key')
@Controller('api/media')
export class MediaController {
  constructor(private readonly files: MediaFilesService) {}

  @Get(':id')
  @ApiOperation({
    summary: 'The file of a media message',
    description:
      'The id is the ZapHub message id. A received file is downloaded in the background: 409 `{"status": "DOWNLOADING"}` until it is there ' +
      '(`message.media` says when), then the bytes with their content type, length and file name. 410 when it will never be there: ' +
      '`status` FAILED (the download failed: too large for MEDIA_MAX_BYTES, or out of attempts) or GONE (pruned with the history).',
  })
  @ApiProduces('application/octet-stream')
  @ApiOkResponse({ description: 'The file', schema: { type: 'string', format: 'binary' } })
  @ApiNotFoundResponse({ description: 'Unknown message, or a message without a file ZapHub keeps' })
  @ApiConflictResponse({ description: 'Still downloading (`status: DOWNLOADING`)' })
  @ApiGoneResponse({ description: 'The download failed (`status: FAILED`) or the file was pruned (`status: GONE`)' })
  async get(@Param() { id }: MessageIdParam): Promise<StreamableFile> {
    const file = await this.files.open(id);
    return new StreamableFile(file.stream, { type: file.mimetype, length: file.size, disposition: contentDisposition(file.filename) });
  }
}
