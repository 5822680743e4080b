import type { Request, Response } from 'express';
import { UnauthorizedError } from '../../common/errors/domain-errors';
import { adminAuthMiddleware } from './admin-auth.middleware';

const KEY = 'a-long-enough-api-key-0123456789';

function run(headers: Record<string, string | string[] | undefined>): unknown[] {
  const calls: unknown[][] = [];
  adminAuthMiddleware(KEY)({ headers } as unknown as Request, {} as Response, (...args: unknown[]) => calls.push(args));
  expect(calls).toHaveLength(1);
  return calls[0];
}

describe('adminAuthMiddleware', () => {
  it('lets a request with the API key through', () => {
    expect(run({ 'x-api-key': KEY })).toEqual([]);
  });

  it('refuses a missing, empty, wrong, longer or shorter key with a 401 error for the exception filter', () => {
    for (const value of [undefined, '', 'wrong', `${KEY}x`, KEY.slice(0, -1)]) {
      const [error] = run({ 'x-api-key': value });
      expect(error).toBeInstanceOf(UnauthorizedError);
      expect((error as UnauthorizedError).statusCode).toBe(401);
    }
  });

  it('reads only the first of repeated headers', () => {
    expect(run({ 'x-api-key': [KEY, 'other'] })).toEqual([]);
    expect(run({ 'x-api-key': ['other', KEY] })[0]).toBeInstanceOf(UnauthorizedError);
  });
});
