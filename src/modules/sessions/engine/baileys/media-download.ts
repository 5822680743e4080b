import type { Readable } from 'node:stream';
import { BufferJSON, downloadContentFromMessage, extractMessageContent, getContentType, type MediaType, type WAMessage } from '@whiskeysockets/baileys';
import type { Dispatcher } from 'undici';
import { NoMediaError, type DownloadedMedia, type InboundMedia } from '../whatsapp-engine.port';
import { uint64ToNumber } from './protobuf-number';

export { NoMediaError };

/** Content kinds whose file can be downloaded (ptv: a round video note, a video to ZapHub). */
const MEDIA_KINDS = ['imageMessage', 'videoMessage', 'ptvMessage', 'audioMessage', 'documentMessage', 'stickerMessage'] as const;
type MediaKind = (typeof MEDIA_KINDS)[number];

interface MediaFields {
  mimetype?: string | null;
  fileName?: string | null;
  fileLength?: unknown;
  url?: string | null;
  directPath?: string | null;
  mediaKey?: Uint8Array | null;
}

const DEFAULT_REUPLOAD_TIMEOUT_MS = 30_000;

/** What the media server answers when the file expired: the sender's phone must upload it again. */
const REUPLOAD_REQUIRED_STATUS = [404, 410];

/** Revives an `InboundMessage.raw` copy (BufferJSON) back into a Baileys message. */
export function reviveRawMessage(raw: unknown): WAMessage {
  return JSON.parse(JSON.stringify(raw), BufferJSON.reviver) as WAMessage;
}

/** The media part of a message, or null when it carries none (text, location...). */
export function mediaInfo(message: WAMessage): ({ kind: MediaKind } & InboundMedia) | null {
  const content = extractMessageContent(message.message);
  const kind = getContentType(content ?? undefined);
  if (!kind || !(MEDIA_KINDS as readonly string[]).includes(kind)) return null;
  const media = content?.[kind as MediaKind] as MediaFields | null | undefined;
  return { kind: kind as MediaKind, mimetype: media?.mimetype ?? null, filename: media?.fileName ?? null, size: uint64ToNumber(media?.fileLength) };
}


/** The HTTP status of a failed media fetch (Baileys throws a Boom carrying it), or null. */
export function httpStatusOf(error: unknown): number | null {
  const e = error as { output?: { statusCode?: unknown }; status?: unknown } | null;
  const status = e?.output?.statusCode ?? e?.status;
  return typeof status === 'number' ? status : null;
}

/**
 * Opens the download of a received message's media, decrypted as it streams
 * (Baileys' downloadContentFromMessage). When the media server says the file
 * expired (404/410), `reupload` asks the sender's phone to upload it again
 * (the socket's updateMediaMessage) and the new copy is fetched. `dispatcher`
 * (sandbox mode only) is the fetch agent that trusts the sandbox's media
 * server; without it fetch uses Node's defaults.
 */
export async function downloadMedia(
  raw: unknown,
  reupload: (message: WAMessage) => Promise<WAMessage>,
  options: { dispatcher?: Dispatcher; reuploadTimeoutMs?: number } = {},
): Promise<DownloadedMedia> {
  const { dispatcher, reuploadTimeoutMs = DEFAULT_REUPLOAD_TIMEOUT_MS } = options;
  let message = reviveRawMessage(raw);
  const info = mediaInfo(message);
  if (!info) throw new NoMediaError('the message carries no media');
  let stream: Readable;
  try {
    stream = await open(message, info.kind, dispatcher);
  } catch (error) {
    const status = httpStatusOf(error);
    if (status === null || !REUPLOAD_REQUIRED_STATUS.includes(status)) throw error;
    // Baileys waits for the phone's answer without a deadline (until the socket closes): bound it.
    message = await within(reupload(message), reuploadTimeoutMs, `the sender's phone did not re-upload the expired media within ${reuploadTimeoutMs} ms`);
    stream = await open(message, info.kind, dispatcher);
  }
  return { stream, mimetype: info.mimetype, filename: info.filename, size: info.size };
}

/** `promise`, or a rejection with `message` after `ms` (the promise keeps running; the timer is always cleared). */
async function within<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function open(message: WAMessage, kind: MediaKind, dispatcher: Dispatcher | undefined): Promise<Readable> {
  const content = extractMessageContent(message.message);
  const media = content?.[kind] as MediaFields | null | undefined;
  if (!media?.mediaKey || (!media.url && !media.directPath)) throw new NoMediaError('the message carries no downloadable media');
  const type = kind.replace('Message', '') as MediaType;
  // RequestInit's type lacks `dispatcher`, which Node's fetch honours.
  const options = dispatcher ? { options: { dispatcher } as RequestInit } : {};
  return downloadContentFromMessage({ mediaKey: media.mediaKey, directPath: media.directPath, url: media.url }, type, options);
}
