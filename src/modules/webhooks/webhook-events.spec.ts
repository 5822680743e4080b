import { eventFilterMatches, normalizeEvents, unknownEvents, WEBHOOK_EVENT_TYPES } from './webhook-events';

describe('webhook event filters', () => {
  it('lists the contract events', () => {
    expect([...WEBHOOK_EVENT_TYPES].sort()).toEqual(
      ['message.delivered', 'message.edited', 'message.expired', 'message.failed', 'message.media', 'message.reaction', 'message.read', 'message.received', 'message.revoked', 'message.sent', 'session.qr', 'session.status', 'webhook.test'].sort(),
    );
  });

  it('names unknown values once each', () => {
    expect(unknownEvents(['*', 'message.sent', 'message.nope', 'message.nope', 'MESSAGE.SENT'])).toEqual(['message.nope', 'MESSAGE.SENT']);
    expect(unknownEvents(['session.qr'])).toEqual([]);
  });

  it('stores * alone, drops duplicates, keeps order', () => {
    expect(normalizeEvents(undefined)).toEqual(['*']);
    expect(normalizeEvents(['message.sent', '*'])).toEqual(['*']);
    expect(normalizeEvents(['message.sent', 'session.status', 'message.sent'])).toEqual(['message.sent', 'session.status']);
  });

  it('matches * and listed types only', () => {
    expect(eventFilterMatches(['*'], 'message.read')).toBe(true);
    expect(eventFilterMatches(['message.read'], 'message.read')).toBe(true);
    expect(eventFilterMatches(['message.read'], 'message.sent')).toBe(false);
  });
});
