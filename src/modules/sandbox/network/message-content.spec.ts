import { describeContent } from './message-content';

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
