import { BufferJSON, downloadMediaMessage, extractMessageContent, getContentType, type WAMessage } from '@whiskeysockets/baileys';
import type { Dispatcher } from 'undici';
import type { DownloadedMedia } from '../whatsapp-engine.port';

type DownloadContext = NonNullable<Parameters<typeof downloadMediaMessage>[3]>;

const MEDIA_KINDS = ['imageMessage', 'videoMessage', 'audioMessage', 'documentMessage', 'stickerMessage'] as const;
type MediaKind = (typeof MEDIA_KINDS)[number];

export class NoMediaError extends Error {
  override readonly name = 'NoMediaError';
}

/** Revives an `InboundMessage.raw` copy (BufferJSON) back into a Baileys message. */
export function reviveRawMessage(raw: unknown): WAMessage {
  return JSON.parse(JSON.stringify(raw), BufferJSON.reviver) as WAMessage;
}

/** The media part of a message, or null when it carries none (text, location...). */
export function mediaInfo(message: WAMessage): { kind: MediaKind; mimetype: string | null; filename: string | null } | null {
  const content = extractMessageContent(message.message);
  const kind = getContentType(content ?? undefined);
  if (!kind || !(MEDIA_KINDS as readonly string[]).includes(kind)) return null;
  const media = content?.[kind as MediaKind] as { mimetype?: string | null; fileName?: string | null } | null | undefined;
  return { kind: kind as MediaKind, mimetype: media?.mimetype ?? null, filename: media?.fileName ?? null };
}

/**
 * Downloads and decrypts the media of a received message. `reupload` asks the
 * sender's phone to upload expired media again (Baileys' updateMediaMessage).
 * `dispatcher` (sandbox mode only) is the fetch agent that trusts the
 * sandbox's media server; without it fetch uses Node's defaults.
 */
export async function downloadMedia(
  raw: unknown,
  reupload: (message: WAMessage) => Promise<WAMessage>,
  logger: DownloadContext['logger'],
  dispatcher?: Dispatcher,
): Promise<DownloadedMedia> {
  const message = reviveRawMessage(raw);
  const info = mediaInfo(message);
  if (!info) throw new NoMediaError('the message carries no media');
  // RequestInit's type lacks `dispatcher`, which Node's fetch honours.
  const options = dispatcher ? { options: { dispatcher } as RequestInit } : {};
  const data = await downloadMediaMessage(message, 'buffer', options, { logger, reuploadRequest: reupload });
  return { data, mimetype: info.mimetype, filename: info.filename };
}
