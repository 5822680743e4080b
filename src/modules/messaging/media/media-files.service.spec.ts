import { Readable } from 'node:stream';
import { NotFoundError } from '../../../common/errors/domain-errors';
import type { InboundMediaRepository, MediaState } from './inbound-media.repository';
import { MediaDownloadingError, MediaFilesService, MediaGoneError } from './media-files.service';
import type { MediaStorage } from './media-storage';

const ID = 'a1b2c3d4-0000-4000-8000-000000000001';
const media = (over: Partial<MediaState>): MediaState => ({
  messageId: ID,
  status: 'READY',
  mimetype: 'image/jpeg',
  filename: null,
  size: 3,
  sha256: 'x',
  storageKey: `inbound/s/${ID}`,
  error: null,
  ...over,
});

describe('MediaFilesService', () => {
  const state = jest.fn<ReturnType<InboundMediaRepository['stateOf']>, [string]>();
  const heldBytes = jest.fn<ReturnType<InboundMediaRepository['heldBytes']>, [string]>();
  const open = jest.fn<ReturnType<MediaStorage['open']>, [string]>();
  const service = new MediaFilesService({ stateOf: state, heldBytes } as unknown as InboundMediaRepository, { open } as unknown as MediaStorage);
  const inbound = { direction: 'INBOUND', type: 'image' };

  beforeEach(() => jest.resetAllMocks());

  it('serves a READY received file from the storage, with its type and a file name', async () => {
    state.mockResolvedValue({ message: inbound, media: media({}) });
    open.mockResolvedValue({ stream: Readable.from([Buffer.from('abc')]), size: 3 });
    expect(await service.open(ID)).toMatchObject({ size: 3, mimetype: 'image/jpeg', filename: `${ID}.jpg` });
    expect(open).toHaveBeenCalledWith(`inbound/s/${ID}`);
  });

  it('answers 409 DOWNLOADING, 410 FAILED with the reason, 410 GONE when the file or its row went with the history', async () => {
    state.mockResolvedValue({ message: inbound, media: media({ status: 'DOWNLOADING', storageKey: null }) });
    await expect(service.open(ID)).rejects.toMatchObject({ constructor: MediaDownloadingError, statusCode: 409, bodyFields: { status: 'DOWNLOADING' } });
    state.mockResolvedValue({ message: inbound, media: media({ status: 'FAILED', storageKey: null, error: 'too large' }) });
    await expect(service.open(ID)).rejects.toMatchObject({ statusCode: 410, bodyFields: { status: 'FAILED' }, message: expect.stringContaining('too large') });
    state.mockResolvedValue({ message: inbound, media: media({}) });
    open.mockResolvedValue(null);
    await expect(service.open(ID)).rejects.toMatchObject({ constructor: MediaGoneError, bodyFields: { status: 'GONE' } });
    state.mockResolvedValue({ message: inbound, media: null });
    await expect(service.open(ID)).rejects.toMatchObject({ statusCode: 410, bodyFields: { status: 'GONE' } });
  });

  it('answers 404 for an unknown message, a message without media, and a sent file ZapHub does not keep', async () => {
    state.mockResolvedValue({ message: null, media: null });
    await expect(service.open(ID)).rejects.toBeInstanceOf(NotFoundError);
    state.mockResolvedValue({ message: { direction: 'INBOUND', type: 'text' }, media: null });
    await expect(service.open(ID)).rejects.toBeInstanceOf(NotFoundError);
    state.mockResolvedValue({ message: { direction: 'OUTBOUND', type: 'image' }, media: null });
    await expect(service.open(ID)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('serves a file sent as base64 from PostgreSQL', async () => {
    state.mockResolvedValue({ message: { direction: 'OUTBOUND', type: 'document' }, media: media({ storageKey: null, mimetype: 'application/pdf', filename: 'a.pdf' }) });
    heldBytes.mockResolvedValue(Buffer.from('%PDF'));
    expect(await service.open(ID)).toMatchObject({ size: 4, mimetype: 'application/pdf', filename: 'a.pdf' });
  });
});
