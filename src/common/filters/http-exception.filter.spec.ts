import { Controller, Get, Module, ServiceUnavailableException } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { INestApplication } from '@nestjs/common';
import { Prisma } from '../../generated/prisma/client';
import { ConflictError, DatabaseUnavailableError, GoneError, ServiceUnavailableError, ValidationError } from '../errors/domain-errors';
import { HttpExceptionFilter } from './http-exception.filter';

/**
 * The filter in a real Nest/Express app over HTTP: what status, Retry-After and
 * body each kind of error gets. (Database outages against a real PostgreSQL:
 * test/e2e/database-down.e2e-spec.ts.)
 */
const p1001 = () =>
  new Prisma.PrismaClientKnownRequestError("\nInvalid `prisma.session.findMany()` invocation in\n/app/src/x.ts:1:1\n\nCan't reach database server at db:5432", {
    code: 'P1001',
    clientVersion: '7.10.0',
    meta: { driverAdapterError: { name: 'DriverAdapterError', cause: { kind: 'DatabaseNotReachable', host: 'db', port: 5432 } } },
  });

@Controller('t')
class ThrowingController {
  @Get('service-unavailable') serviceUnavailable() {
    throw new ServiceUnavailableError('Redis is unavailable: try again shortly');
  }
  @Get('service-unavailable-2.5s') serviceUnavailableSoon() {
    throw new ServiceUnavailableError('The worker did not answer', undefined, 2.5);
  }
  @Get('database-unavailable') databaseUnavailable() {
    throw new DatabaseUnavailableError();
  }
  @Get('prisma-p1001') async prisma() {
    throw p1001();
  }
  @Get('pg-timeout') async pgTimeout() {
    throw new Error('Connection terminated due to connection timeout', { cause: new Error('Connection terminated unexpectedly') });
  }
  @Get('fetch-failed') async fetchFailed() {
    throw new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:443'), { code: 'ECONNREFUSED', syscall: 'connect', errno: -111 }) });
  }
  @Get('nest-503') nest503() {
    throw new ServiceUnavailableException('busy');
  }
  @Get('bug') bug() {
    throw new Error('secret internals at /app/src/x.ts:1:1');
  }
  @Get('gone') gone() {
    throw new (class extends GoneError {
      override readonly bodyFields = { status: 'FAILED', statusCode: 'not this' };
    })('The media could not be downloaded');
  }
  @Get('conflict') conflict() {
    throw new ConflictError('busy');
  }
  @Get('validation') validation() {
    throw new ValidationError('Invalid request: x', [{ field: 'x', message: 'x is bad' }]);
  }
}

@Module({ controllers: [ThrowingController] })
class TestModule {}

describe('HttpExceptionFilter over HTTP', () => {
  let app: INestApplication;
  let base: string;

  beforeAll(async () => {
    app = await NestFactory.create(TestModule, { logger: false });
    app.useGlobalFilters(new HttpExceptionFilter());
    await app.listen(0, '127.0.0.1');
    base = await app.getUrl();
  });
  afterAll(async () => {
    await app?.close();
  });

  const get = async (path: string) => {
    const res = await fetch(`${base}/t/${path}`, { headers: { 'X-Request-Id': 'req-1' } });
    const text = await res.text();
    return { status: res.status, retryAfter: res.headers.get('retry-after'), body: JSON.parse(text) as Record<string, unknown>, text };
  };

  it.each([
    ['service-unavailable', '5', 'Redis is unavailable: try again shortly'],
    ['service-unavailable-2.5s', '3', 'The worker did not answer'],
    ['database-unavailable', '5', 'Database unavailable, retry later'],
    ['prisma-p1001', '5', 'Database unavailable, retry later'],
    ['pg-timeout', '5', 'Database unavailable, retry later'],
    ['fetch-failed', '5', 'A dependency is unavailable, retry later'],
    ['nest-503', '5', 'busy'],
  ])('%s: 503 with Retry-After %s', async (path, retryAfter, message) => {
    const res = await get(path);
    expect({ status: res.status, retryAfter: res.retryAfter, body: res.body }).toEqual({
      status: 503,
      retryAfter,
      body: { statusCode: 503, error: 'Service Unavailable', message, requestId: 'req-1' },
    });
    expect(res.text).not.toMatch(/\bat .+:\d+:\d+|x\.ts|prisma|db:5432|10\.0\.0\.1/i);
  });

  it('a bug stays a 500 without Retry-After or internals', async () => {
    const res = await get('bug');
    expect({ status: res.status, retryAfter: res.retryAfter, body: res.body }).toEqual({
      status: 500,
      retryAfter: null,
      body: { statusCode: 500, error: 'Internal Server Error', message: 'Internal server error', requestId: 'req-1' },
    });
  });

  it('adds the fields a route declares (bodyFields) without overriding the standard ones; 410 is Gone', async () => {
    expect((await get('gone')).body).toEqual({ statusCode: 410, error: 'Gone', message: 'The media could not be downloaded', status: 'FAILED', requestId: 'req-1' });
    expect((await get('conflict')).body).toEqual({ statusCode: 409, error: 'Conflict', message: 'busy', requestId: 'req-1' });
  });

  it('a client mistake stays a 400 without Retry-After', async () => {
    const res = await get('validation');
    expect({ status: res.status, retryAfter: res.retryAfter, details: res.body.details }).toEqual({ status: 400, retryAfter: null, details: [{ field: 'x', message: 'x is bad' }] });
  });
});
