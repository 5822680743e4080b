import { deliveryPgTypes, outcomeColumns, parseUtcTimestamp, toClaimedDelivery, type ClaimedRow } from './delivery-rows';

/**
 * The delivery pool reads rows without Prisma: timestamps must come back as
 * Prisma writes them (UTC wall time, whatever the process's zone), bigint as
 * BigInt, and a claimed row must carry the envelope EventLog would build.
 */
describe('delivery rows', () => {
  it('reads a timestamp without time zone as UTC, with or without milliseconds', () => {
    expect(parseUtcTimestamp('2026-12-06 02:55:13.123').toISOString()).toBe('2026-12-06T02:55:13.123Z');
    expect(parseUtcTimestamp('2026-12-06 02:55:13.1').toISOString()).toBe('2026-12-06T02:55:13.100Z');
    expect(parseUtcTimestamp('2026-12-06 02:55:13').toISOString()).toBe('2026-12-06T02:55:13.000Z');
  });

  it('parses timestamps and bigints its own way and leaves other types to pg', () => {
    const text = (oid: number) => (deliveryPgTypes.getTypeParser as (oid: number, format?: string) => (value: string) => unknown)(oid, 'text');
    expect((text(1114)('2026-01-02 03:04:05.678') as Date).toISOString()).toBe('2026-01-02T03:04:05.678Z');
    expect(text(20)('9007199254740993')).toBe(9007199254740993n);
    expect(text(23)('42')).toBe(42);
    expect(text(3802)('{"a":1}')).toEqual({ a: 1 });
    expect(text(25)('plain')).toBe('plain');
  });

  const base: ClaimedRow = {
    id: 'd1',
    seq: 7n,
    webhookId: 'w1',
    eventId: 'evt_1',
    sessionId: 's1',
    eventType: 'message.sent',
    payload: null,
    status: 'PENDING',
    attempts: 0,
    nextAttemptAt: new Date('2026-01-01T00:00:40.000Z'),
    lastStatusCode: null,
    lastError: null,
    createdAt: new Date('2026-01-01T00:00:00.000Z'),
    deliveredAt: null,
    url: 'https://example.com/hook',
    webhookStatus: 'ACTIVE',
    secret: 'sealed',
    previousSecret: null,
    previousSecretExpiresAt: null,
    evtId: 'evt_1',
    evtSessionName: 'alpha',
    evtSequence: 3,
    evtType: 'message.sent',
    evtData: { id: 'm1' },
    evtCreatedAt: new Date('2026-01-01T00:00:00.000Z'),
  };

  it('splits a claimed row into the delivery with its endpoint and the event envelope', () => {
    const { delivery, envelope } = toClaimedDelivery(base);
    expect(delivery).toMatchObject({ id: 'd1', seq: 7n, attempts: 0, status: 'PENDING', eventId: 'evt_1' });
    expect(delivery.webhook).toEqual({ id: 'w1', url: 'https://example.com/hook', status: 'ACTIVE', secret: 'sealed', previousSecret: null, previousSecretExpiresAt: null });
    expect(envelope).toEqual({ id: 'evt_1', event: 'message.sent', session: 'alpha', sequence: 3, timestamp: '2026-01-01T00:00:00.000Z', data: { id: 'm1' } });
  });

  it('gives a test ping (or an event pruned meanwhile) no envelope', () => {
    const ping = { ...base, eventId: null, payload: { event: 'webhook.test' }, evtId: null, evtSessionName: null, evtSequence: null, evtType: null, evtData: null, evtCreatedAt: null };
    const { delivery, envelope } = toClaimedDelivery(ping);
    expect(envelope).toBeNull();
    expect(delivery.payload).toEqual({ event: 'webhook.test' });
  });

  it('turns outcomes into the columns of one write, each guarded by the claim it ends', () => {
    const lease = new Date('2026-01-01T00:00:40.000Z');
    const columns = outcomeColumns([
      { claimed: { id: 'a', attempts: 0, nextAttemptAt: lease }, outcome: { kind: 'delivered', statusCode: 200, at: new Date('2026-01-01T00:00:01.000Z') } },
      { claimed: { id: 'b', attempts: 2, nextAttemptAt: lease }, outcome: { kind: 'retry', statusCode: 500, error: 'HTTP 500', nextAttemptAt: new Date('2026-01-01T00:00:09.000Z') } },
      { claimed: { id: 'c', attempts: 11, nextAttemptAt: lease }, outcome: { kind: 'failed', statusCode: null, error: 'timeout', countsAsAttempt: true } },
      { claimed: { id: 'd', attempts: 1, nextAttemptAt: lease }, outcome: { kind: 'failed', statusCode: null, error: 'webhook disabled', countsAsAttempt: false } },
    ]);
    expect(columns).toEqual({
      id: ['a', 'b', 'c', 'd'],
      status: ['DELIVERED', 'PENDING', 'FAILED', 'FAILED'],
      attempts: [1, 3, 12, 1],
      code: [200, 500, null, null],
      error: [null, 'HTTP 500', 'timeout', 'webhook disabled'],
      next: [null, '2026-01-01T00:00:09.000Z', null, null],
      delivered: ['2026-01-01T00:00:01.000Z', null, null, null],
      previous: [0, 2, 11, 1],
      lease: Array(4).fill('2026-01-01T00:00:40.000Z'),
    });
  });
});
