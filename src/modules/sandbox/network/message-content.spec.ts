import { describeContent, describeMedia } from './message-content';

describe('describeContent', () => {
  it.each([
    [{ conversation: 'hi' }, { type: 'text', text: 'hi' }],
    [{ extendedTextMessage: { text: 'hello' } }, { type: 'text', text: 'hello' }],
    [{ imageMessage: { caption: 'look' } }, { type: 'image', text: 'look' }],
    [{ documentMessage: {} }, { type: 'document', text: null }],
    [{ reactionMessage: { text: '👍' } }, { type: 'reaction', text: '👍' }],
    [{ locationMessage: { degreesLatitude: 1, degreesLongitude: 2 } }, { type: 'location', text: null }],
    [{ pollCreationMessage: { name: 'q' } }, { type: 'pollCreation', text: null }],
  ])('%j -> %j', (message, expected) => {
    expect(describeContent(message)).toEqual(expected);
  });

  it('ignores protocol plumbing and empty content', () => {
    expect(describeContent({ protocolMessage: { type: 0 } })).toBeNull();
    expect(describeContent({ senderKeyDistributionMessage: {} })).toBeNull();
    expect(describeContent(undefined)).toBeNull();
  });
});

describe('describeMedia', () => {
  it.each([
    [{ imageMessage: { mimetype: 'image/jpeg', caption: 'x' } }, { mimetype: 'image/jpeg', filename: null }],
    [{ documentMessage: { mimetype: 'application/pdf', fileName: 'a.pdf' } }, { mimetype: 'application/pdf', filename: 'a.pdf' }],
    [{ documentWithCaptionMessage: { message: { documentMessage: { mimetype: 'text/plain', fileName: 'b.txt', caption: 'c' } } } }, { mimetype: 'text/plain', filename: 'b.txt' }],
    [{ ephemeralMessage: { message: { audioMessage: { mimetype: 'audio/ogg; codecs=opus', ptt: true } } } }, { mimetype: 'audio/ogg; codecs=opus', filename: null }],
    [{ stickerMessage: {} }, { mimetype: null, filename: null }],
  ])('%j -> %j', (message, expected) => {
    expect(describeMedia(message)).toEqual(expected);
  });

  it('is null for content without a file', () => {
    expect(describeMedia({ conversation: 'hi' })).toBeNull();
    expect(describeMedia({ locationMessage: { degreesLatitude: 1, degreesLongitude: 2 } })).toBeNull();
    expect(describeMedia(undefined)).toBeNull();
  });
});
