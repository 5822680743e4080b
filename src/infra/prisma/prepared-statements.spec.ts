import { MAX_PREPARED_PARAMS, preparedStatementName } from './prepared-statements';

describe('preparedStatementName', () => {
  it('names one text always the same, and two texts differently', () => {
    const claim = 'SELECT 1 FROM "MessageQueueItem" WHERE "sessionId" = $1';
    expect(preparedStatementName(claim, 1)).toBe(preparedStatementName(claim, 1));
    expect(preparedStatementName(claim, 1)).not.toBe(preparedStatementName(`${claim} AND "chatId" = $2`, 2));
  });

  it('fits in a PostgreSQL identifier (63 bytes)', () => {
    expect(Buffer.byteLength(preparedStatementName('SELECT 1', 0)!)).toBeLessThanOrEqual(63);
  });

  it('leaves statements with long parameter lists unnamed (their text varies with the list)', () => {
    expect(preparedStatementName('SELECT 1', MAX_PREPARED_PARAMS)).toBeDefined();
    expect(preparedStatementName('SELECT 1', MAX_PREPARED_PARAMS + 1)).toBeUndefined();
  });
});
