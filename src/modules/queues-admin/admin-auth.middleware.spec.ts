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

describe('adminAuthMiddleware with the browser session cookie', () => {
  const sessions = (check: 'valid' | 'absent' | 'invalid') => ({ check: jest.fn(async () => check) });
  /** Resolves with the argument given to next (undefined: let through). */
  const runWith = (verifier: ReturnType<typeof sessions>, req: Partial<Request> & { headers: Record<string, string> }) =>
    new Promise<unknown>((resolve) => {
      const request = { method: 'GET', protocol: 'http', get: (name: string) => req.headers[name.toLowerCase()], ...req } as unknown as Request;
      adminAuthMiddleware(KEY, verifier)(request, {} as Response, (error?: unknown) => resolve(error));
    });

  it('lets a valid cookie read, and write only with X-Requested-With or its own Origin', async () => {
    const valid = sessions('valid');
    expect(await runWith(valid, { headers: { cookie: 'zaphub_session=x' } })).toBeUndefined();
    const put = { method: 'PUT', headers: { cookie: 'zaphub_session=x', host: 'zap.example' } };
    expect(await runWith(valid, put)).toMatchObject({ statusCode: 403 });
    expect(await runWith(valid, { ...put, headers: { ...put.headers, origin: 'https://evil.example' } })).toMatchObject({ statusCode: 403 });
    expect(await runWith(valid, { ...put, headers: { ...put.headers, origin: 'http://zap.example' } })).toBeUndefined();
    expect(await runWith(valid, { ...put, headers: { ...put.headers, 'x-requested-with': 'XMLHttpRequest' } })).toBeUndefined();
  });

  it('refuses an invalid or absent cookie with 401, and never consults it when the header is present', async () => {
    expect(await runWith(sessions('invalid'), { headers: { cookie: 'zaphub_session=x' } })).toBeInstanceOf(UnauthorizedError);
    expect(await runWith(sessions('absent'), { headers: {} })).toBeInstanceOf(UnauthorizedError);
    const valid = sessions('valid');
    expect(await runWith(valid, { headers: { 'x-api-key': 'wrong', cookie: 'zaphub_session=x' } })).toBeInstanceOf(UnauthorizedError);
    expect(valid.check).not.toHaveBeenCalled();
  });

  it('passes a store failure on to the exception filter', async () => {
    const failure = new Error('redis down');
    const broken = { check: jest.fn(() => Promise.reject(failure)) };
    expect(await runWith(broken as unknown as ReturnType<typeof sessions>, { headers: { cookie: 'zaphub_session=x' } })).toBe(failure);
  });
});
