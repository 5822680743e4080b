import { getContentType, normalizeMessageContent, type proto } from '@whiskeysockets/baileys';

/** Baileys content keys that are plumbing, not something a person sent. */
const NOT_USER_CONTENT = new Set<string>([
  'protocolMessage',
  'senderKeyDistributionMessage',
  'messageContextInfo',
  'deviceSentMessage',
]);

/** Content key -> the type name the REST API uses (the same names ZapHub's send API takes). */
const TYPE_NAMES: Record<string, string> = {
  conversation: 'text',
  extendedTextMessage: 'text',
  imageMessage: 'image',
  videoMessage: 'video',
  audioMessage: 'audio',
  documentMessage: 'document',
  documentWithCaptionMessage: 'document',
  stickerMessage: 'sticker',
  locationMessage: 'location',
  contactMessage: 'contact',
  contactsArrayMessage: 'contact',
  reactionMessage: 'reaction',
};

/**
 * What a fake contact records of a received message: its type and its text
 * (body, caption, or reaction emoji). Null for stanzas that carry no user
 * content (key distribution, protocol messages).
 */
export function describeContent(
  message: proto.IMessage | null | undefined,
): { type: string; text: string | null; quotedId?: string; reaction?: { waMessageId: string; emoji: string } } | null {
  const content = normalizeMessageContent(message);
  const key = getContentType(content ?? undefined);
  if (!content || !key || NOT_USER_CONTENT.has(key)) return null;
  const text =
    content.conversation ??
    content.extendedTextMessage?.text ??
    content.imageMessage?.caption ??
    content.videoMessage?.caption ??
    content.documentMessage?.caption ??
    content.documentWithCaptionMessage?.message?.documentMessage?.caption ??
    content.reactionMessage?.text ??
    content.locationMessage?.name ??
    content.contactMessage?.displayName ??
    null;
  const reaction = content.reactionMessage?.key?.id ? { waMessageId: content.reactionMessage.key.id, emoji: content.reactionMessage.text ?? '' } : undefined;
  const contextInfo = (content[key as keyof proto.IMessage] as { contextInfo?: proto.IContextInfo | null } | null | undefined)?.contextInfo;
  const quotedId = contextInfo?.stanzaId ?? undefined;
  return { type: TYPE_NAMES[key] ?? key.replace(/Message$/, ''), text, ...(quotedId ? { quotedId } : {}), ...(reaction ? { reaction } : {}) };
}

/** The content keys of messages that carry a downloadable file. */
const MEDIA_KEYS = ['imageMessage', 'videoMessage', 'audioMessage', 'documentMessage', 'stickerMessage'] as const;

/** The file a media message carries (what a fake contact downloads); null for anything else. */
export function describeMedia(message: proto.IMessage | null | undefined): { mimetype: string | null; filename: string | null } | null {
  const content = normalizeMessageContent(message);
  if (!content) return null;
  // documentWithCaptionMessage wraps a documentMessage one level down.
  const inner = content.documentWithCaptionMessage?.message ?? content;
  for (const key of MEDIA_KEYS) {
    const media = inner[key];
    if (media) return { mimetype: media.mimetype ?? null, filename: 'fileName' in media ? (media.fileName ?? null) : null };
  }
  return null;
}
