import type { ErrorDetail } from '../../common/errors/domain-errors';
import { phoneDigits, PHONE_RULE } from '../../common/validation/phone-number';
import { CHAT_ID_RULE, toChatId } from './chat-id';
import { urlShapeProblem } from '../../infra/outbound-url/outbound-url-guard';
import type { RequestedMedia } from './media/media-content';
import { decodeBase64, defaultMimetype, mimetypeProblem } from './media/media-rules';
import { isMediaType, MEDIA_TYPES, withArticle, type MediaType, type MessageType } from './message-types';
import { MAX_TEXT_LENGTH, type SendMessageDto } from './messages.dto';

/** The optional fields of a request, and the types each one belongs to. */
const FIELD_TYPES: Record<string, readonly MessageType[]> = {
  // A caption: stickers and audio have none.
  text: ['text', 'image', 'video', 'document'],
  media: MEDIA_TYPES,
  mimetype: MEDIA_TYPES,
  filename: ['document'],
  ptt: ['audio'],
  location: ['location'],
  contact: ['contact'],
  reaction: ['reaction'],
  replyTo: ['text', ...MEDIA_TYPES, 'location', 'contact'],
};

/** What is sent, before the reaction's target is resolved (it needs the store). */
export type RequestedContent =
  | { type: 'text'; text: string }
  | { type: 'location'; latitude: number; longitude: number; name?: string; address?: string }
  | { type: 'contact'; name: string; phone: string }
  | { type: 'reaction'; targetMessageId: string; emoji: string }
  | RequestedMedia;

export interface MessageRequestLimits {
  /** MEDIA_MAX_BYTES: the largest file a media message may carry. */
  mediaMaxBytes: number;
}

export type CheckedRequest = { ok: true; chatId: string; content: RequestedContent } | { ok: false; errors: ErrorDetail[] };

/**
 * The per-type rules of a send request, after the DTO checked each field's
 * shape: which fields the type needs, which it does not take, and the ranges
 * of their values. Every problem is reported, each naming its field.
 */
export function checkMessageRequest(body: SendMessageDto, limits: MessageRequestLimits): CheckedRequest {
  const errors: ErrorDetail[] = [];
  const chatId = toChatId(body.to);
  if (!chatId) errors.push({ field: 'to', message: `to must be ${CHAT_ID_RULE}` });
  for (const [field, types] of Object.entries(FIELD_TYPES)) {
    if ((body as unknown as Record<string, unknown>)[field] !== undefined && !types.includes(body.type)) {
      errors.push({ field, message: `${field} does not apply to ${withArticle(body.type)} message` });
    }
  }
  const content = isMediaType(body.type) ? mediaOf(body, body.type, limits, errors) : contentOf(body, errors);
  return errors.length || !chatId || !content ? { ok: false, errors } : { ok: true, chatId, content };
}

function contentOf(body: SendMessageDto, errors: ErrorDetail[]): RequestedContent | null {
  switch (body.type) {
    case 'text': {
      if (body.text === undefined || body.text.trim() === '') errors.push({ field: 'text', message: 'text is required for a text message and must not be blank' });
      else if (body.text.length > MAX_TEXT_LENGTH) errors.push({ field: 'text', message: `text must be at most ${MAX_TEXT_LENGTH} characters (got ${body.text.length})` });
      return body.text ? { type: 'text', text: body.text } : null;
    }
    case 'location': {
      const l = body.location;
      if (!l) {
        errors.push({ field: 'location', message: 'location {latitude, longitude} is required for a location message' });
        return null;
      }
      if (!(l.latitude >= -90 && l.latitude <= 90)) errors.push({ field: 'location.latitude', message: 'location.latitude must be between -90 and 90' });
      if (!(l.longitude >= -180 && l.longitude <= 180)) errors.push({ field: 'location.longitude', message: 'location.longitude must be between -180 and 180' });
      return { type: 'location', latitude: l.latitude, longitude: l.longitude, ...(l.name ? { name: l.name } : {}), ...(l.address ? { address: l.address } : {}) };
    }
    case 'contact': {
      const c = body.contact;
      if (!c) {
        errors.push({ field: 'contact', message: 'contact {name, phone} is required for a contact message' });
        return null;
      }
      const digits = phoneDigits(c.phone);
      if (!digits) errors.push({ field: 'contact.phone', message: `contact.phone must be ${PHONE_RULE}` });
      if (c.name.trim() === '') errors.push({ field: 'contact.name', message: 'contact.name must not be blank' });
      return digits ? { type: 'contact', name: c.name.trim(), phone: digits } : null;
    }
    case 'reaction': {
      const r = body.reaction;
      if (!r) {
        errors.push({ field: 'reaction', message: 'reaction {messageId, emoji} is required for a reaction' });
        return null;
      }
      return { type: 'reaction', targetMessageId: r.messageId, emoji: r.emoji };
    }
    default:
      return null;
  }
}

/**
 * A media message: exactly one of `media.url` (its shape here; its host is
 * checked against the SSRF guard by the service, which needs DNS) and
 * `media.data` (base64 that decodes, at most MEDIA_MAX_BYTES); a mimetype
 * the type can carry (WhatsApp's usual one when absent); `text` is the
 * caption (stickers and audio have none).
 */
function mediaOf(body: SendMessageDto, type: MediaType, limits: MessageRequestLimits, errors: ErrorDetail[]): RequestedMedia | null {
  const before = errors.length;
  const { media } = body;
  let source: RequestedMedia['source'] | null = null;
  if (!media || (media.url === undefined && media.data === undefined)) {
    errors.push({ field: 'media', message: `media {url} or {data} (base64) is required for ${withArticle(type)} message` });
  } else if (media.url !== undefined && media.data !== undefined) {
    errors.push({ field: 'media', message: 'media takes either url or data, not both' });
  } else if (media.url !== undefined) {
    const problem = urlShapeProblem(media.url);
    if (problem) errors.push({ field: 'media.url', message: `media.url ${problem}` });
    else source = { url: media.url };
  } else if (media.data !== undefined) {
    const decoded = decodeBase64(media.data);
    if (!decoded.ok) errors.push({ field: 'media.data', message: `media.data ${decoded.reason}` });
    else if (decoded.bytes.length > limits.mediaMaxBytes) {
      errors.push({ field: 'media.data', message: `media.data is ${decoded.bytes.length} bytes: at most ${limits.mediaMaxBytes} (MEDIA_MAX_BYTES) are accepted` });
    } else source = { data: decoded.bytes };
  }
  const mimetype = body.mimetype?.trim() || defaultMimetype(type, body.ptt === true);
  const mimeProblem = mimetypeProblem(type, mimetype);
  if (mimeProblem) errors.push({ field: 'mimetype', message: mimeProblem });
  if (body.text !== undefined && body.text.length > MAX_TEXT_LENGTH) {
    errors.push({ field: 'text', message: `text must be at most ${MAX_TEXT_LENGTH} characters (got ${body.text.length})` });
  }
  if (errors.length > before || !source) return null;
  return {
    type,
    source,
    mimetype,
    ...(body.filename !== undefined ? { filename: body.filename } : {}),
    ...(body.text !== undefined && body.text !== '' ? { caption: body.text } : {}),
    ...(body.ptt !== undefined ? { ptt: body.ptt } : {}),
  };
}
