import type { AnyMessageContent, WAMessage } from '@whiskeysockets/baileys';
import type { OutboundContent, QuotedMessage } from '../whatsapp-engine.port';

/** vCard 3.0 text values escape backslash, comma, semicolon and newlines. */
const vcardText = (value: string) => value.replace(/\\/g, '\\\\').replace(/,/g, '\\,').replace(/;/g, '\\;').replace(/\r?\n/g, '\\n');

/** A vCard WhatsApp renders as a contact card; `waid` lets the phone offer "Message". */
export function buildVcard(name: string, phone: string): string {
  const digits = phone.replace(/\D/g, '');
  return ['BEGIN:VCARD', 'VERSION:3.0', `FN:${vcardText(name)}`, `TEL;type=CELL;type=VOICE;waid=${digits}:+${digits}`, 'END:VCARD'].join('\n');
}

/**
 * ZapHub's outbound content to Baileys' message content. Media is a Buffer or
 * `{url}` (Baileys streams the URL itself; callers must have vetted it).
 */
export function toBaileysContent(chatId: string, content: OutboundContent): AnyMessageContent {
  switch (content.type) {
    case 'text':
      return { text: content.text };
    case 'image':
      return { image: content.media, caption: content.caption, mimetype: content.mimetype };
    case 'video':
      return { video: content.media, caption: content.caption, mimetype: content.mimetype };
    case 'audio':
      return {
        audio: content.media,
        ptt: content.ptt ?? false,
        // WhatsApp plays voice notes only as Opus in Ogg.
        mimetype: content.mimetype ?? (content.ptt ? 'audio/ogg; codecs=opus' : 'audio/mp4'),
      };
    case 'document':
      return {
        document: content.media,
        mimetype: content.mimetype ?? 'application/octet-stream',
        fileName: content.filename,
        caption: content.caption,
      };
    case 'sticker':
      return { sticker: content.media, mimetype: content.mimetype };
    case 'location':
      return {
        location: { degreesLatitude: content.latitude, degreesLongitude: content.longitude, name: content.name, address: content.address },
      };
    case 'contact':
      return { contacts: { displayName: content.name, contacts: [{ displayName: content.name, vcard: buildVcard(content.name, content.phone) }] } };
    case 'reaction':
      return { react: { text: content.emoji, key: { remoteJid: chatId, id: content.targetWaMessageId, fromMe: content.targetFromMe } } };
  }
}

/**
 * The quoted message Baileys builds a reply's context from: the key (id,
 * chat, author) and a text body for the preview. ZapHub keeps what it sent
 * and received, not WhatsApp's protobufs, so a quoted media message shows as
 * its caption (or empty) in the preview; the reply still points at it.
 */
export function toQuotedMessage(chatId: string, quoted: QuotedMessage): WAMessage {
  return {
    key: { remoteJid: chatId, id: quoted.waMessageId, fromMe: quoted.fromMe, ...(quoted.participant ? { participant: quoted.participant } : {}) },
    message: { conversation: quoted.text ?? '' },
  };
}
