import type { ErrorDetail } from '../../common/errors/domain-errors';
import { phoneDigits, PHONE_RULE } from '../../common/validation/phone-number';
import { CHAT_ID_RULE, toChatId } from './chat-id';
import { MEDIA_TYPES, type MessageType } from './message-types';
import { MAX_TEXT_LENGTH, type SendMessageDto } from './messages.dto';

/** The optional fields of a request, and the types each one belongs to. */
const FIELD_TYPES: Record<string, readonly MessageType[]> = {
  text: ['text', ...MEDIA_TYPES],
  media: MEDIA_TYPES,
  mimetype: MEDIA_TYPES,
  filename: MEDIA_TYPES,
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
  | { type: 'reaction'; targetMessageId: string; emoji: string };

export type CheckedRequest = { ok: true; chatId: string; content: RequestedContent } | { ok: false; errors: ErrorDetail[] };

/**
 * The per-type rules of a send request, after the DTO checked each field's
 * shape: which fields the type needs, which it does not take, and the ranges
 * of their values. Every problem is reported, each naming its field.
 */
export function checkMessageRequest(body: SendMessageDto): CheckedRequest {
  const errors: ErrorDetail[] = [];
  const chatId = toChatId(body.to);
  if (!chatId) errors.push({ field: 'to', message: `to must be ${CHAT_ID_RULE}` });
  for (const [field, types] of Object.entries(FIELD_TYPES)) {
    if ((body as unknown as Record<string, unknown>)[field] !== undefined && !types.includes(body.type)) {
      errors.push({ field, message: `${field} does not apply to a ${body.type} message` });
    }
  }
  const content = contentOf(body, errors);
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
      // Media needs the sandbox's media server to be tested end to end: it comes in the next step.
      errors.push({ field: 'type', message: `${body.type} messages are not available yet in this version (text, location, contact and reaction are)` });
      return null;
  }
}
