import type { AnyMessageContent } from '@whiskeysockets/baileys';
import type { ErrorDetail } from '../../../common/errors/domain-errors';
import { INBOUND_TYPES, type InboundMessageInput, type InboundType } from './sandbox-network.types';

/**
 * What a fake contact sends: Baileys content and the id of the message it replies to, or a
 * change of an earlier message (the contact knows whose it is, so it builds the key).
 */
export interface ContactOutgoing {
  content?: AnyMessageContent;
  replyTo?: string;
  change?: ContactChange;
}

export type ContactChange =
  | { kind: 'reaction'; waMessageId: string; emoji: string }
  | { kind: 'edit'; waMessageId: string; text: string }
  | { kind: 'revoke'; waMessageId: string };

export class InboundContentError extends Error {
  constructor(readonly problems: ErrorDetail[]) {
    super(`Invalid inbound message: ${problems.map((p) => `${p.field ?? 'body'} ${p.message}`).join('; ')}`);
  }
}

const MAX_TEXT = 65_536;
const MEDIA_TYPES: ReadonlySet<InboundType> = new Set(['image', 'video', 'audio', 'document', 'sticker']);
/** WhatsApp shows a caption under these; audio and stickers have none. */
const CAPTIONED: ReadonlySet<InboundType> = new Set(['image', 'video', 'document']);
const FIELDS = new Set(['type', 'text', 'media', 'caption', 'location', 'replyTo', 'reaction', 'edit', 'revoke']);
const CHANGE_TYPES: ReadonlySet<InboundType> = new Set(['reaction', 'edit', 'revoke']);
const MAX_EMOJI = 64;
const MEDIA_FIELDS = new Set(['data', 'mimetype', 'filename']);
const LOCATION_FIELDS = new Set(['latitude', 'longitude', 'name', 'address']);
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const MIMETYPE = /^[\w.+-]+\/[\w.+-]+(?:\s*;\s*[\w.+-]+=[\w.+"-]+)*$/;
const WA_MESSAGE_ID = /^[A-Za-z0-9_-]{1,128}$/;

/**
 * Checks what a fake contact is asked to send (every bad field named, like a
 * 400 of the REST API) and turns it into Baileys content. `media.data` is
 * base64 (the REST API) or bytes (tests calling the network directly).
 */
export function parseInboundContent(input: InboundMessageInput): ContactOutgoing {
  const problems: ErrorDetail[] = [];
  const bad = (field: string, message: string) => problems.push({ field, message });
  // Checked as untyped input: it comes from JSON bodies too.
  const raw: unknown = input;
  if (!isObject(raw)) throw new InboundContentError([{ message: 'must be an object' }]);
  for (const key of Object.keys(raw)) if (!FIELDS.has(key)) bad(key, 'is not allowed');

  const type = (raw.type ?? 'text') as InboundType;
  if (!INBOUND_TYPES.includes(type)) {
    bad('type', `must be one of ${INBOUND_TYPES.join(', ')}`);
    throw new InboundContentError(problems);
  }
  if (CHANGE_TYPES.has(type)) return parseChange(type, raw, problems);
  for (const field of ['reaction', 'edit', 'revoke'] as const) if (raw[field] !== undefined) bad(field, `is only for type ${field}`);
  const isMedia = MEDIA_TYPES.has(type);
  const { text, caption, replyTo } = raw;

  if (type === 'text') {
    if (typeof text !== 'string' || text.length === 0) bad('text', 'is required for type text (a non-empty string)');
    else if (text.length > MAX_TEXT) bad('text', `must be at most ${MAX_TEXT} characters`);
  } else if (text !== undefined) {
    bad('text', `is only for type text (use caption for ${type})`);
  }
  if (caption !== undefined) {
    if (!CAPTIONED.has(type)) bad('caption', 'is only for types image, video and document');
    else if (typeof caption !== 'string' || caption.length > MAX_TEXT) bad('caption', `must be a string of at most ${MAX_TEXT} characters`);
  }
  if (replyTo !== undefined && (typeof replyTo !== 'string' || !WA_MESSAGE_ID.test(replyTo))) bad('replyTo', 'must be a WhatsApp message id');

  const media = isMedia ? parseMedia(raw.media, bad) : undefined;
  if (!isMedia && raw.media !== undefined) bad('media', `is only for types ${[...MEDIA_TYPES].join(', ')}`);
  const location = type === 'location' ? parseLocation(raw.location, bad) : undefined;
  if (type !== 'location' && raw.location !== undefined) bad('location', 'is only for type location');

  if (problems.length) throw new InboundContentError(problems);
  const content = toContent(type, { text: text as string | undefined, caption: caption as string | undefined, media, location });
  return { content, ...(replyTo ? { replyTo: replyTo as string } : {}) };
}

/** A reaction, an edit or a revoke: only its own object (named like the type) is allowed. */
function parseChange(type: InboundType, raw: Record<string, unknown>, problems: ErrorDetail[]): ContactOutgoing {
  const bad = (field: string, message: string) => problems.push({ field, message });
  for (const key of Object.keys(raw)) if (key !== 'type' && key !== type && FIELDS.has(key) && raw[key] !== undefined) bad(key, `is not allowed for type ${type}`);
  const body = raw[type];
  const allowed = type === 'reaction' ? ['waMessageId', 'emoji'] : type === 'edit' ? ['waMessageId', 'text'] : ['waMessageId'];
  const shape = `{${allowed.join(', ')}}`;
  if (!isObject(body)) {
    bad(type, `is required for type ${type} (${shape})`);
    throw new InboundContentError(problems);
  }
  for (const key of Object.keys(body)) if (!allowed.includes(key)) bad(`${type}.${key}`, 'is not allowed');
  const { waMessageId, emoji, text } = body;
  if (typeof waMessageId !== 'string' || !WA_MESSAGE_ID.test(waMessageId)) bad(`${type}.waMessageId`, 'must be a WhatsApp message id');
  if (type === 'reaction' && (typeof emoji !== 'string' || emoji.length > MAX_EMOJI)) bad('reaction.emoji', `must be a string of at most ${MAX_EMOJI} characters ('' removes the reaction)`);
  if (type === 'edit' && (typeof text !== 'string' || text.length === 0 || text.length > MAX_TEXT)) bad('edit.text', `must be a non-empty string of at most ${MAX_TEXT} characters`);
  if (problems.length) throw new InboundContentError(problems);
  const id = waMessageId as string;
  if (type === 'reaction') return { change: { kind: 'reaction', waMessageId: id, emoji: emoji as string } };
  if (type === 'edit') return { change: { kind: 'edit', waMessageId: id, text: text as string } };
  return { change: { kind: 'revoke', waMessageId: id } };
}

interface ParsedMedia {
  data: Buffer;
  mimetype: string;
  filename?: string;
}

function parseMedia(media: unknown, bad: (field: string, message: string) => void): ParsedMedia | undefined {
  if (media === undefined) {
    bad('media', 'is required for media types ({data: base64, mimetype, filename?})');
    return undefined;
  }
  if (!isObject(media)) {
    bad('media', 'must be an object');
    return undefined;
  }
  for (const key of Object.keys(media)) if (!MEDIA_FIELDS.has(key)) bad(`media.${key}`, 'is not allowed');
  const { data, mimetype, filename } = media;
  let bytes: Buffer | undefined;
  if (Buffer.isBuffer(data)) bytes = data;
  else if (typeof data === 'string' && BASE64.test(data)) bytes = Buffer.from(data, 'base64');
  if (!bytes) bad('media.data', 'must be base64');
  else if (bytes.length === 0) bad('media.data', 'must not be empty');
  if (typeof mimetype !== 'string' || mimetype.length > 255 || !MIMETYPE.test(mimetype)) bad('media.mimetype', 'must be a MIME type such as image/jpeg');
  if (filename !== undefined && (typeof filename !== 'string' || filename.length === 0 || filename.length > 255)) {
    bad('media.filename', 'must be a string of 1 to 255 characters');
  }
  if (!bytes?.length || typeof mimetype !== 'string') return undefined;
  return { data: bytes, mimetype, ...(typeof filename === 'string' ? { filename } : {}) };
}

function parseLocation(location: unknown, bad: (field: string, message: string) => void): InboundMessageInput['location'] {
  if (location === undefined) {
    bad('location', 'is required for type location ({latitude, longitude, name?, address?})');
    return undefined;
  }
  if (!isObject(location)) {
    bad('location', 'must be an object');
    return undefined;
  }
  for (const key of Object.keys(location)) if (!LOCATION_FIELDS.has(key)) bad(`location.${key}`, 'is not allowed');
  const { latitude, longitude, name, address } = location;
  if (!isFiniteIn(latitude, 90)) bad('location.latitude', 'must be a number from -90 to 90');
  if (!isFiniteIn(longitude, 180)) bad('location.longitude', 'must be a number from -180 to 180');
  if (name !== undefined && (typeof name !== 'string' || name.length > 1024)) bad('location.name', 'must be a string of at most 1024 characters');
  if (address !== undefined && (typeof address !== 'string' || address.length > 1024)) bad('location.address', 'must be a string of at most 1024 characters');
  return { latitude: latitude as number, longitude: longitude as number, ...(typeof name === 'string' ? { name } : {}), ...(typeof address === 'string' ? { address } : {}) };
}

function toContent(
  type: InboundType,
  parts: { text?: string; caption?: string; media?: ParsedMedia; location?: InboundMessageInput['location'] },
): AnyMessageContent {
  const { media, caption, location } = parts;
  switch (type) {
    case 'text':
      return { text: parts.text ?? '' };
    case 'location':
      return { location: { degreesLatitude: location!.latitude, degreesLongitude: location!.longitude, name: location!.name, address: location!.address } };
    case 'image':
      return { image: media!.data, mimetype: media!.mimetype, caption };
    case 'video':
      return { video: media!.data, mimetype: media!.mimetype, caption };
    case 'audio':
      return { audio: media!.data, mimetype: media!.mimetype };
    case 'document':
      return { document: media!.data, mimetype: media!.mimetype, fileName: media!.filename, caption };
    case 'sticker':
      return { sticker: media!.data, mimetype: media!.mimetype };
    default:
      throw new Error(`type ${type} is a change, not content`);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value);
}

function isFiniteIn(value: unknown, bound: number): boolean {
  return typeof value === 'number' && Number.isFinite(value) && Math.abs(value) <= bound;
}
