import {
  BufferJSON,
  getContentType,
  isJidGroup,
  isJidStatusBroadcast,
  jidDecode,
  jidNormalizedUser,
  normalizeMessageContent,
  type proto,
  type WAMessage,
  type WAMessageKey,
} from '@whiskeysockets/baileys';
import type { EngineEvent, InboundMedia, InboundMessage, MessageChange } from '../whatsapp-engine.port';
import { uint64ToNumber } from './protobuf-number';

type ContentKey = keyof proto.IMessage;

const TYPE_BY_CONTENT: Partial<Record<ContentKey, InboundMessage['type']>> = {
  conversation: 'text',
  extendedTextMessage: 'text',
  imageMessage: 'image',
  videoMessage: 'video',
  ptvMessage: 'video',
  audioMessage: 'audio',
  documentMessage: 'document',
  stickerMessage: 'sticker',
  locationMessage: 'location',
  liveLocationMessage: 'location',
  contactMessage: 'contact',
  contactsArrayMessage: 'contact',
  reactionMessage: 'reaction',
};

/**
 * Content that is signalling, not a message a user sent (key shares). Protocol messages are
 * signalling too, except edits and deletes for everyone (mapped to a `change`); the rest of them
 * (history sync, app-state keys, ephemeral settings...) is ignored.
 */
const IGNORED_CONTENT = new Set<ContentKey>(['senderKeyDistributionMessage']);

/** proto.Message.ProtocolMessage.Type values ZapHub acts on. */
const PROTOCOL_REVOKE = 0;
const PROTOCOL_MESSAGE_EDIT = 14;

/** Normalizes a user JID (drops the device part); '' from jidNormalizedUser means "not a JID". */
const normalizeJid = (jid: string | null | undefined): string | null => (jid ? jidNormalizedUser(jid) || jid : null);

/**
 * The chat id ZapHub uses for a JID WhatsApp gives: groups as they are, users
 * without their device part. Messages and receipts go through this one rule,
 * so a receipt finds the message it belongs to.
 */
export function normalizeChatId(jid: string): string {
  return isJidGroup(jid) === true ? jid : (normalizeJid(jid) ?? jid);
}

const phoneOf = (jid: string | null | undefined): string | null => {
  if (!jid) return null;
  const decoded = jidDecode(jid);
  return decoded?.server === 's.whatsapp.net' && /^\d+$/.test(decoded.user) ? decoded.user : null;
};


function textOf(content: proto.IMessage, key: ContentKey): string | null {
  switch (key) {
    case 'conversation':
      return content.conversation ?? null;
    case 'extendedTextMessage':
      return content.extendedTextMessage?.text ?? null;
    case 'imageMessage':
      return content.imageMessage?.caption ?? null;
    case 'videoMessage':
      return content.videoMessage?.caption ?? null;
    case 'documentMessage':
      return content.documentMessage?.caption ?? null;
    case 'reactionMessage':
      return content.reactionMessage?.text ?? null;
    case 'locationMessage':
      return content.locationMessage?.name ?? null;
    case 'contactMessage':
      return content.contactMessage?.displayName ?? null;
    default:
      return null;
  }
}

/**
 * Maps a Baileys message (a `messages.upsert` of type notify) to ZapHub's
 * InboundMessage; null for what is not a user message (protocol messages,
 * status broadcasts, stubs without content). Works on plain objects too.
 * `raw` is a JSON-safe copy (binary fields as BufferJSON `{type:'Buffer'}`)
 * so it can be stored and revived later to download media.
 */
export function normalizeInboundMessage(msg: WAMessage, now = new Date()): InboundMessage | null {
  const key = msg.key;
  const chatId = key?.remoteJid;
  if (!key?.id || !chatId || isJidStatusBroadcast(chatId)) return null;
  const content = normalizeMessageContent(msg.message);
  const contentKey = getContentType(content ?? undefined);
  if (!content || !contentKey || IGNORED_CONTENT.has(contentKey)) return null;

  const change = contentKey === 'protocolMessage' ? changeOf(content.protocolMessage) : null;
  if (contentKey === 'protocolMessage' && !change) return null;

  const group = isJidGroup(chatId) === true;
  const chatIdAlt = group ? null : normalizeJid(key.remoteJidAlt);
  const sender = group ? (key.participantAlt ?? key.participant) : (key.remoteJidAlt ?? chatId);
  const seconds = uint64ToNumber(msg.messageTimestamp);
  // A reaction carries its own time in ms: two reactions within a second keep their order.
  const reactionMs = contentKey === 'reactionMessage' ? uint64ToNumber(content.reactionMessage?.senderTimestampMs) : null;
  const editMs = change?.kind === 'edit' ? uint64ToNumber(content.protocolMessage?.timestampMs) : null;
  if (change) {
    return {
      waMessageId: key.id,
      chatId: normalizeChatId(chatId),
      chatIdAlt,
      fromMe: key.fromMe === true,
      senderPhone: key.fromMe ? null : phoneOf(normalizeJid(sender)),
      senderJid: key.fromMe ? null : normalizeJid(sender),
      pushName: msg.pushName ?? null,
      type: 'other',
      text: change.kind === 'edit' ? change.text : null,
      timestamp: editMs !== null ? new Date(editMs) : seconds === null ? now : new Date(seconds * 1000),
      quotedWaMessageId: null,
      reactionTo: null,
      change,
      media: null,
      raw: null,
    };
  }
  return {
    waMessageId: key.id,
    chatId: normalizeChatId(chatId),
    chatIdAlt,
    fromMe: key.fromMe === true,
    senderPhone: key.fromMe ? null : phoneOf(normalizeJid(sender)),
    senderJid: key.fromMe ? null : normalizeJid(sender),
    pushName: msg.pushName ?? null,
    type: TYPE_BY_CONTENT[contentKey] ?? 'other',
    text: textOf(content, contentKey),
    timestamp: reactionMs ? new Date(reactionMs) : seconds === null ? now : new Date(seconds * 1000),
    quotedWaMessageId: quotedIdOf(content, contentKey),
    reactionTo: contentKey === 'reactionMessage' ? (content.reactionMessage?.key?.id ?? null) : null,
    media: mediaOf(content, contentKey),
    raw: JSON.parse(JSON.stringify(msg, BufferJSON.replacer)) as unknown,
  };
}

/** An edit (with the new text) or a delete for everyone; null for every other protocol message. */
function changeOf(protocol: proto.Message.IProtocolMessage | null | undefined): MessageChange | null {
  const target = protocol?.key?.id;
  if (!protocol || !target) return null;
  if (protocol.type === PROTOCOL_REVOKE) return { kind: 'revoke', targetWaMessageId: target };
  if (protocol.type === PROTOCOL_MESSAGE_EDIT) {
    const edited = normalizeMessageContent(protocol.editedMessage);
    const editedKey = getContentType(edited ?? undefined);
    return { kind: 'edit', targetWaMessageId: target, text: edited && editedKey ? textOf(edited, editedKey) : null };
  }
  return null;
}

/** What a media message says of its file; null for other types. */
function mediaOf(content: proto.IMessage, key: ContentKey): InboundMedia | null {
  const type = TYPE_BY_CONTENT[key];
  if (type !== 'image' && type !== 'video' && type !== 'audio' && type !== 'document' && type !== 'sticker') return null;
  const media = content[key] as { mimetype?: string | null; fileName?: string | null; fileLength?: unknown } | null | undefined;
  return { mimetype: media?.mimetype ?? null, filename: media?.fileName ?? null, size: uint64ToNumber(media?.fileLength) };
}

/** The id of the quoted message: every content type with a context carries it there. */
function quotedIdOf(content: proto.IMessage, key: ContentKey): string | null {
  const inner = content[key] as { contextInfo?: proto.IContextInfo | null } | null | undefined;
  return (typeof inner === 'object' && inner?.contextInfo?.stanzaId) || null;
}

/** WhatsApp message status (proto.WebMessageInfo.Status) to ZapHub's receipt status. */
export function receiptStatusOf(status: number | null | undefined): 'SENT' | 'DELIVERED' | 'READ' | null {
  switch (status) {
    case 2: // SERVER_ACK
      return 'SENT';
    case 3: // DELIVERY_ACK
      return 'DELIVERED';
    case 4: // READ
    case 5: // PLAYED
      return 'READ';
    default:
      return null;
  }
}

type ReceiptEvent = Extract<EngineEvent, { type: 'receipt' }>;

/**
 * The receipt carried by an upsert of one of our own messages. Receipts that arrive while
 * Baileys' event buffer is on (it is on while a send runs) are folded into the buffered
 * upsert of the sent message (`status` set on it) instead of being emitted as
 * messages.update: without this, such a delivery or read is lost.
 */
export function receiptOfOwnUpsert(msg: WAMessage): ReceiptEvent | null {
  const status = receiptStatusOf(msg.status);
  return status === 'SENT' ? null : receiptOf(msg.key, status);
}

/** The receipt event of a status WhatsApp reports for one of our own messages (null for others' or no status). */
export function receiptOf(key: WAMessageKey, status: ReceiptEvent['status'] | null): ReceiptEvent | null {
  if (!status || !key.fromMe || !key.id || !key.remoteJid) return null;
  return { type: 'receipt', waMessageId: key.id, chatId: normalizeChatId(key.remoteJid), status };
}

/**
 * A group member's receipt (`message-receipt.update`): the member's best status so far, with
 * the member's JID (normalized; phone JID when WhatsApp tells it). Null for others' messages.
 */
export function participantReceiptOf(
  key: WAMessageKey,
  receipt: { userJid?: string | null; receiptTimestamp?: unknown; readTimestamp?: unknown; playedTimestamp?: unknown },
): ReceiptEvent | null {
  const status = receipt.readTimestamp || receipt.playedTimestamp ? 'READ' : receipt.receiptTimestamp ? 'DELIVERED' : null;
  const event = receiptOf(key, status);
  if (!event) return null;
  const participant = normalizeJid(receipt.userJid);
  return participant && isJidGroup(event.chatId) === true ? { ...event, participant } : event;
}
