import type { WAMessage } from '@whiskeysockets/baileys';
import { normalizeChatId, normalizeInboundMessage, participantReceiptOf, receiptOfOwnUpsert, receiptStatusOf } from './inbound-message.mapper';

const base = (message: object, key: object = {}): WAMessage =>
  ({
    key: { remoteJid: '5511999998888@s.whatsapp.net', id: 'ABC123', fromMe: false, ...key },
    message,
    messageTimestamp: 1_760_000_000,
    pushName: 'Ana',
  }) as WAMessage;

describe('normalizeInboundMessage', () => {
  it('maps a plain text message', () => {
    const m = normalizeInboundMessage(base({ conversation: 'hello' }))!;
    expect(m).toMatchObject({
      waMessageId: 'ABC123',
      chatId: '5511999998888@s.whatsapp.net',
      chatIdAlt: null,
      fromMe: false,
      senderPhone: '5511999998888',
      pushName: 'Ana',
      type: 'text',
      text: 'hello',
    });
    expect(m.timestamp.toISOString()).toBe(new Date(1_760_000_000_000).toISOString());
  });

  it('uses remoteJidAlt as the phone JID of a @lid chat', () => {
    const m = normalizeInboundMessage(base({ extendedTextMessage: { text: 'hi' } }, { remoteJid: '123456789@lid', remoteJidAlt: '5511999998888:3@s.whatsapp.net' }))!;
    expect(m.chatId).toBe('123456789@lid');
    expect(m.chatIdAlt).toBe('5511999998888@s.whatsapp.net');
    expect(m.senderPhone).toBe('5511999998888');
    expect(m.text).toBe('hi');
  });

  it('names the quoted message of a reply, and the target of a reaction', () => {
    const reply = normalizeInboundMessage(base({ extendedTextMessage: { text: 'yes', contextInfo: { stanzaId: '3EB0QUOTED', participant: '5511@s.whatsapp.net' } } }))!;
    expect(reply).toMatchObject({ quotedWaMessageId: '3EB0QUOTED', reactionTo: null });
    const captioned = normalizeInboundMessage(base({ imageMessage: { caption: 'this', contextInfo: { stanzaId: '3EB0IMG' } } }))!;
    expect(captioned.quotedWaMessageId).toBe('3EB0IMG');
    const reaction = normalizeInboundMessage(base({ reactionMessage: { text: '❤️', key: { id: '3EB0TARGET', fromMe: true } } }))!;
    expect(reaction).toMatchObject({ type: 'reaction', text: '❤️', reactionTo: '3EB0TARGET', quotedWaMessageId: null });
    expect(normalizeInboundMessage(base({ conversation: 'plain' }))).toMatchObject({ quotedWaMessageId: null, reactionTo: null });
  });

  it('takes the sender of a group message from participantAlt / participant', () => {
    const m = normalizeInboundMessage(
      base({ conversation: 'yo' }, { remoteJid: '120363000000000000@g.us', participant: '99@lid', participantAlt: '5511777776666@s.whatsapp.net' }),
    )!;
    expect(m.chatId).toBe('120363000000000000@g.us');
    expect(m.chatIdAlt).toBeNull();
    expect(m.senderPhone).toBe('5511777776666');
  });

  it.each([
    [{ imageMessage: { caption: 'pic', mimetype: 'image/jpeg' } }, 'image', 'pic'],
    [{ videoMessage: { caption: 'vid' } }, 'video', 'vid'],
    [{ audioMessage: { ptt: true } }, 'audio', null],
    [{ documentWithCaptionMessage: { message: { documentMessage: { caption: 'doc', fileName: 'a.pdf' } } } }, 'document', 'doc'],
    [{ stickerMessage: {} }, 'sticker', null],
    [{ locationMessage: { degreesLatitude: 1, degreesLongitude: 2, name: 'Home' } }, 'location', 'Home'],
    [{ contactMessage: { displayName: 'Bob', vcard: 'BEGIN:VCARD' } }, 'contact', 'Bob'],
    [{ reactionMessage: { text: '👍', key: { id: 'X' } } }, 'reaction', '👍'],
    [{ ephemeralMessage: { message: { conversation: 'secret' } } }, 'text', 'secret'],
    [{ viewOnceMessageV2: { message: { imageMessage: { caption: 'once' } } } }, 'image', 'once'],
    [{ pollCreationMessage: { name: 'q' } }, 'other', null],
  ])('maps %j to type %s', (message, type, text) => {
    const m = normalizeInboundMessage(base(message))!;
    expect(m.type).toBe(type);
    expect(m.text).toBe(text);
  });

  it('skips protocol messages, status broadcasts and contentless stubs', () => {
    expect(normalizeInboundMessage(base({ protocolMessage: { type: 0 } }))).toBeNull();
    expect(normalizeInboundMessage(base({ senderKeyDistributionMessage: {} }))).toBeNull();
    expect(normalizeInboundMessage(base({ conversation: 'x' }, { remoteJid: 'status@broadcast' }))).toBeNull();
    expect(normalizeInboundMessage({ key: { remoteJid: 'a@s.whatsapp.net', id: 'x' }, messageStubType: 1 } as WAMessage)).toBeNull();
  });

  it('reports our own messages from another device without a sender phone', () => {
    const m = normalizeInboundMessage(base({ conversation: 'from my phone' }, { fromMe: true }))!;
    expect(m.fromMe).toBe(true);
    expect(m.senderPhone).toBeNull();
  });

  it('accepts Long-like and missing timestamps', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    const long = { ...base({ conversation: 'a' }), messageTimestamp: { low: 1_760_000_000, high: 0, toNumber: () => 1_760_000_000 } } as unknown as WAMessage;
    expect(normalizeInboundMessage(long)!.timestamp.getTime()).toBe(1_760_000_000_000);
    expect(normalizeInboundMessage({ ...base({ conversation: 'a' }), messageTimestamp: undefined }, now)!.timestamp).toBe(now);
  });

  it('says what a media message announces of its file, and nothing for other types', () => {
    expect(normalizeInboundMessage(base({ documentMessage: { mimetype: 'application/pdf', fileName: 'a.pdf', fileLength: 1234 } }))!.media).toEqual({
      mimetype: 'application/pdf',
      filename: 'a.pdf',
      size: 1234,
    });
    expect(normalizeInboundMessage(base({ stickerMessage: {} }))!.media).toEqual({ mimetype: null, filename: null, size: null });
    expect(normalizeInboundMessage(base({ conversation: 'a' }))!.media).toBeNull();
  });

  it('stores binary fields of raw as JSON-safe BufferJSON values', () => {
    const m = normalizeInboundMessage(base({ imageMessage: { mediaKey: Buffer.from([1, 2, 3]) } }))!;
    const raw = m.raw as { message: { imageMessage: { mediaKey: unknown } } };
    expect(raw.message.imageMessage.mediaKey).toEqual({ type: 'Buffer', data: 'AQID' });
    expect(JSON.parse(JSON.stringify(m.raw))).toEqual(m.raw);
  });
});

describe('receiptStatusOf', () => {
  it('maps WhatsApp statuses', () => {
    expect([0, 1, 2, 3, 4, 5, undefined].map(receiptStatusOf)).toEqual([null, null, 'SENT', 'DELIVERED', 'READ', 'READ', null]);
  });
});

describe('receiptOfOwnUpsert', () => {
  const own = (status: number | undefined, fromMe = true) =>
    ({ key: { id: 'ABC', remoteJid: '5511999998888:3@s.whatsapp.net', fromMe }, status, message: { conversation: 'x' } }) as WAMessage;

  it('reads a delivery or read that Baileys folded into the upsert of a sent message', () => {
    expect(receiptOfOwnUpsert(own(3))).toEqual({ type: 'receipt', waMessageId: 'ABC', chatId: '5511999998888@s.whatsapp.net', status: 'DELIVERED' });
    expect(receiptOfOwnUpsert(own(4))?.status).toBe('READ');
    expect(receiptOfOwnUpsert(own(5))?.status).toBe('READ');
  });

  it('ignores pending and server-acked sends and messages of others', () => {
    expect(receiptOfOwnUpsert(own(1))).toBeNull();
    expect(receiptOfOwnUpsert(own(2))).toBeNull();
    expect(receiptOfOwnUpsert(own(undefined))).toBeNull();
    expect(receiptOfOwnUpsert(own(4, false))).toBeNull();
  });
});

describe('normalizeChatId', () => {
  it('drops the device part of a user JID, as message chat ids do, and keeps groups', () => {
    expect(normalizeChatId('5511999998888:12@s.whatsapp.net')).toBe('5511999998888@s.whatsapp.net');
    expect(normalizeChatId('123456789:3@lid')).toBe('123456789@lid');
    expect(normalizeChatId('1203630@g.us')).toBe('1203630@g.us');
  });
});

describe('edits, revokes and reactions', () => {
  it('maps an edit (bare or wrapped in editedMessage) to a change with the new text and its time', () => {
    const protocolMessage = { type: 14, key: { id: '3EB0TARGET', remoteJid: '5511999998888@s.whatsapp.net', fromMe: true }, editedMessage: { conversation: 'new text' }, timestampMs: 1_760_000_001_234 };
    for (const message of [{ protocolMessage }, { editedMessage: { message: { protocolMessage } } }]) {
      const m = normalizeInboundMessage(base(message))!;
      expect(m).toMatchObject({ waMessageId: 'ABC123', change: { kind: 'edit', targetWaMessageId: '3EB0TARGET', text: 'new text' }, senderJid: '5511999998888@s.whatsapp.net', media: null });
      expect(m.timestamp.getTime()).toBe(1_760_000_001_234);
    }
  });

  it('maps a delete for everyone to a revoke change and keeps other protocol messages out', () => {
    expect(normalizeInboundMessage(base({ protocolMessage: { type: 0, key: { id: '3EB0GONE' } } }))!.change).toEqual({ kind: 'revoke', targetWaMessageId: '3EB0GONE' });
    expect(normalizeInboundMessage(base({ protocolMessage: { type: 5 } }))).toBeNull(); // history sync notification
    expect(normalizeInboundMessage(base({ protocolMessage: { type: 3, ephemeralExpiration: 86400 } }))).toBeNull();
    expect(normalizeInboundMessage(base({ protocolMessage: { type: 14, editedMessage: { conversation: 'x' } } }))).toBeNull(); // no target
  });

  it('times a reaction by its own milliseconds and names its author in a group', () => {
    const m = normalizeInboundMessage(
      base({ reactionMessage: { key: { id: '3EB0T' }, text: '👍', senderTimestampMs: 1_760_000_000_456 } }, { remoteJid: '1203@g.us', participant: '5511888887777:2@s.whatsapp.net' }),
    )!;
    expect(m).toMatchObject({ type: 'reaction', reactionTo: '3EB0T', text: '👍', senderJid: '5511888887777@s.whatsapp.net', senderPhone: '5511888887777' });
    expect(m.timestamp.getTime()).toBe(1_760_000_000_456);
  });
});

describe('participantReceiptOf', () => {
  const key = { remoteJid: '1203@g.us', id: '3EB0MINE', fromMe: true };
  it('names the group member of a receipt, read over delivered', () => {
    expect(participantReceiptOf(key, { userJid: '5511888887777:3@s.whatsapp.net', receiptTimestamp: 1 })).toEqual({
      type: 'receipt', waMessageId: '3EB0MINE', chatId: '1203@g.us', status: 'DELIVERED', participant: '5511888887777@s.whatsapp.net',
    });
    expect(participantReceiptOf(key, { userJid: '5511888887777@s.whatsapp.net', receiptTimestamp: 1, readTimestamp: 2 })?.status).toBe('READ');
  });
  it('has no participant outside groups and nothing for others\' messages or empty receipts', () => {
    expect(participantReceiptOf({ ...key, remoteJid: '5511@s.whatsapp.net' }, { userJid: '5511@s.whatsapp.net', receiptTimestamp: 1 })).not.toHaveProperty('participant');
    expect(participantReceiptOf({ ...key, fromMe: false }, { userJid: 'x@s.whatsapp.net', receiptTimestamp: 1 })).toBeNull();
    expect(participantReceiptOf(key, { userJid: 'x@s.whatsapp.net' })).toBeNull();
  });
});
