import { InboundContentError, parseInboundContent } from './inbound-content';
import type { InboundMessageInput } from './sandbox-network.types';

const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]);

function problemsOf(input: unknown): Array<{ field?: string; message: string }> {
  try {
    parseInboundContent(input as InboundMessageInput);
  } catch (error) {
    if (error instanceof InboundContentError) return error.problems;
    throw error;
  }
  throw new Error('expected a validation error');
}

describe('parseInboundContent', () => {
  it('makes Baileys content for each type', () => {
    expect(parseInboundContent({ text: 'hi' })).toEqual({ content: { text: 'hi' } });
    expect(parseInboundContent({ type: 'text', text: 'hi', replyTo: '3EB0ABCDEF' })).toEqual({ content: { text: 'hi' }, replyTo: '3EB0ABCDEF' });
    expect(parseInboundContent({ type: 'image', media: { data: png.toString('base64'), mimetype: 'image/png' }, caption: 'look' })).toEqual({
      content: { image: png, mimetype: 'image/png', caption: 'look' },
    });
    expect(parseInboundContent({ type: 'document', media: { data: png, mimetype: 'application/pdf', filename: 'a.pdf' } }).content).toEqual({
      document: png,
      mimetype: 'application/pdf',
      fileName: 'a.pdf',
      caption: undefined,
    });
    expect(parseInboundContent({ type: 'audio', media: { data: png, mimetype: 'audio/ogg; codecs=opus' } }).content).toEqual({ audio: png, mimetype: 'audio/ogg; codecs=opus' });
    expect(parseInboundContent({ type: 'sticker', media: { data: png, mimetype: 'image/webp' } }).content).toEqual({ sticker: png, mimetype: 'image/webp' });
    expect(parseInboundContent({ type: 'video', media: { data: png, mimetype: 'video/mp4' } }).content).toMatchObject({ video: png });
    expect(parseInboundContent({ type: 'location', location: { latitude: -23.5, longitude: -46.6, name: 'Sé' } }).content).toEqual({
      location: { degreesLatitude: -23.5, degreesLongitude: -46.6, name: 'Sé', address: undefined },
    });
  });

  it.each([
    [{}, ['text']],
    [{ text: '' }, ['text']],
    [{ type: 'gif' }, ['type']],
    [{ type: 'image' }, ['media']],
    [{ type: 'image', media: { data: 'not base64!', mimetype: 'image/png' } }, ['media.data']],
    [{ type: 'image', media: { data: '', mimetype: 'image/png' } }, ['media.data']],
    [{ type: 'image', media: { data: 'AAAA', mimetype: 'png' } }, ['media.mimetype']],
    [{ type: 'image', media: { data: 'AAAA' } }, ['media.mimetype']],
    [{ type: 'image', media: [] }, ['media']],
    [{ type: 'image', media: { data: 'AAAA', mimetype: 'image/png', size: 3 } }, ['media.size']],
    [{ type: 'document', media: { data: 'AAAA', mimetype: 'text/plain', filename: 7 } }, ['media.filename']],
    [{ type: 'sticker', media: { data: 'AAAA', mimetype: 'image/webp' }, caption: 'x' }, ['caption']],
    [{ type: 'image', media: { data: 'AAAA', mimetype: 'image/png' }, text: 'x' }, ['text']],
    [{ text: 'x', media: { data: 'AAAA', mimetype: 'image/png' } }, ['media']],
    [{ type: 'location' }, ['location']],
    [{ type: 'location', location: { latitude: 91, longitude: 'x' } }, ['location.latitude', 'location.longitude']],
    [{ text: 'x', location: { latitude: 1, longitude: 1 } }, ['location']],
    [{ text: 'x', replyTo: 'not an id!' }, ['replyTo']],
    [{ text: 'x', extra: 1 }, ['extra']],
    [{ type: 'reaction' }, ['reaction']],
    [{ type: 'reaction', reaction: { waMessageId: 'bad id!', emoji: 7 } }, ['reaction.waMessageId', 'reaction.emoji']],
    [{ type: 'reaction', text: 'x', reaction: { waMessageId: '3EB0A', emoji: '👍', extra: 1 } }, ['text', 'reaction.extra']],
    [{ type: 'edit', edit: { waMessageId: '3EB0A', text: '' } }, ['edit.text']],
    [{ type: 'revoke', revoke: { waMessageId: '3EB0A', text: 'x' } }, ['revoke.text']],
    [{ text: 'x', revoke: { waMessageId: '3EB0A' } }, ['revoke']],
  ])('%j is refused naming %j', (input, fields) => {
    expect(problemsOf(input).map((p) => p.field)).toEqual(fields);
  });

  it('turns a reaction, an edit and a revoke into a change the contact sends', () => {
    expect(parseInboundContent({ type: 'reaction', reaction: { waMessageId: '3EB0A', emoji: '👍' } })).toEqual({ change: { kind: 'reaction', waMessageId: '3EB0A', emoji: '👍' } });
    expect(parseInboundContent({ type: 'reaction', reaction: { waMessageId: '3EB0A', emoji: '' } }).change).toEqual({ kind: 'reaction', waMessageId: '3EB0A', emoji: '' });
    expect(parseInboundContent({ type: 'edit', edit: { waMessageId: '3EB0A', text: 'v2' } })).toEqual({ change: { kind: 'edit', waMessageId: '3EB0A', text: 'v2' } });
    expect(parseInboundContent({ type: 'revoke', revoke: { waMessageId: '3EB0A' } })).toEqual({ change: { kind: 'revoke', waMessageId: '3EB0A' } });
  });
});
