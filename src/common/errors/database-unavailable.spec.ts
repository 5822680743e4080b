import { createServer, type Server, type Socket } from 'node:net';
import { PrismaPg } from '@prisma/adapter-pg';
import { Client } from 'pg';
import { Prisma, PrismaClient } from '../../generated/prisma/client';
import { isConnectionFailure, isDatabaseUnavailable } from './database-unavailable';
import { ConflictError, ValidationError } from './domain-errors';

/**
 * The recogniser against errors that Prisma 7 + @prisma/adapter-pg + pg really
 * throw when no usable PostgreSQL is there (a closed port, a server that hangs
 * up, one that never answers), plus the shapes seen with a real PostgreSQL in
 * test/e2e/database-down.e2e-spec.ts, and errors that must stay what they are.
 * No PostgreSQL needed.
 */
async function listen(onConnection: (socket: Socket) => void): Promise<{ server: Server; port: number; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    onConnection(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port, sockets };
}

async function closedPort(): Promise<number> {
  const { server, port } = await listen(() => undefined);
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function thrown(fn: () => Promise<unknown>): Promise<unknown> {
  try {
    await fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

function prismaAt(port: number): PrismaClient {
  return new PrismaClient({ adapter: new PrismaPg({ connectionString: `postgresql://postgres@127.0.0.1:${port}/zaphub`, connectionTimeoutMillis: 300 }) });
}

describe('isDatabaseUnavailable with real Prisma/pg errors', () => {
  const clients: PrismaClient[] = [];
  const servers: { server: Server; sockets: Set<Socket> }[] = [];
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.$disconnect().catch(() => undefined)));
    for (const { server, sockets } of servers) {
      for (const s of sockets) s.destroy();
      server.close();
    }
  });
  const client = (port: number) => {
    const c = prismaAt(port);
    clients.push(c);
    return c;
  };

  it('nothing listening: model query, raw query and transaction (P1001)', async () => {
    const prisma = client(await closedPort());
    const model = await thrown(() => prisma.session.findMany());
    expect(model).toMatchObject({ name: 'PrismaClientKnownRequestError', code: 'P1001' });
    expect(isDatabaseUnavailable(model)).toBe(true);
    const raw = await thrown(() => prisma.$queryRaw`SELECT 1`);
    expect(raw).toMatchObject({ code: 'P2010' }); // raw queries wrap the same cause under another code
    expect(isDatabaseUnavailable(raw)).toBe(true);
    expect(isDatabaseUnavailable(await thrown(() => prisma.$transaction(async (tx) => tx.session.count())))).toBe(true);
  });

  it('a server that hangs up at once', async () => {
    const hangUp = await listen((socket) => socket.destroy());
    servers.push(hangUp);
    const error = await thrown(() => client(hangUp.port).session.findMany());
    expect(isDatabaseUnavailable(error)).toBe(true);
  });

  it('a server that never answers: connect timeout, and a transaction that cannot start (P2028)', async () => {
    const silent = await listen(() => undefined);
    servers.push(silent);
    const prisma = client(silent.port);
    const model = await thrown(() => prisma.session.findMany());
    expect(model).toMatchObject({ message: 'Connection terminated due to connection timeout' }); // raw pg error, not wrapped
    expect(isDatabaseUnavailable(model)).toBe(true);
    const tx = await thrown(() => prisma.$transaction(async (t) => t.session.count(), { maxWait: 200 }));
    expect(tx).toMatchObject({ code: 'P2028', message: expect.stringContaining('Unable to start a transaction in the given time') });
    expect(isDatabaseUnavailable(tx)).toBe(true);
  });

  it('pg itself (no Prisma): a refused connection', async () => {
    const pg = new Client({ connectionString: `postgresql://postgres@127.0.0.1:${await closedPort()}/zaphub` });
    const error = await thrown(() => pg.connect());
    expect(error).toMatchObject({ code: 'ECONNREFUSED' });
    expect(isConnectionFailure(error)).toBe(true);
  });
});

describe('isDatabaseUnavailable with recorded shapes', () => {
  const known = (code: string, meta?: Record<string, unknown>, message = 'Invalid `prisma.session.findMany()` invocation:\n\n\nsomething') =>
    new Prisma.PrismaClientKnownRequestError(message, { code, clientVersion: '7.10.0', meta });

  it.each([
    ['P1017 server closed the connection (pooled connection reset)', known('P1017', { driverAdapterError: { name: 'DriverAdapterError', cause: { kind: 'ConnectionClosed' } } })],
    ['P1001 without meta', known('P1001')],
    ['P2024 pool timeout', known('P2024')],
    ['P2037 too many connections', known('P2037')],
    [
      'backend terminated by an administrator (57P01)',
      known('P2010', {
        driverAdapterError: {
          name: 'DriverAdapterError',
          cause: { originalCode: '57P01', originalMessage: 'terminating connection due to administrator command', kind: 'postgres', code: '57P01', severity: 'FATAL' },
        },
      }),
    ],
    ['the server is starting up (57P03)', known('P2039', { driverAdapterError: { name: 'DriverAdapterError', cause: { kind: 'postgres', code: '57P03', severity: 'FATAL' } } })],
    ['an initialization error', new Prisma.PrismaClientInitializationError("Can't reach database server", '7.10.0')],
    ['pg query_timeout on a stalled connection', new Error('Query read timeout')],
    ['pg-pool connect timeout (older wording)', new Error('timeout exceeded when trying to connect')],
    ['a connection lost mid-query', new Error('Connection terminated unexpectedly')],
    ['wrapped in a cause', new Error('listing failed', { cause: known('P1001') })],
  ])('%s: unavailable', (_label, error) => {
    expect(isDatabaseUnavailable(error)).toBe(true);
  });

  it.each([
    ['a unique violation (P2002)', known('P2002', { driverAdapterError: { name: 'DriverAdapterError', cause: { kind: 'UniqueConstraintViolation' } } })],
    ['a record not found (P2025)', known('P2025')],
    ['a syntax error in raw SQL (42601)', known('P2010', { driverAdapterError: { name: 'DriverAdapterError', cause: { kind: 'postgres', code: '42601', severity: 'ERROR' } } })],
    ['a transaction already closed (P2028, not a start timeout)', known('P2028', undefined, 'Transaction API error: Transaction already closed')],
    ['a plain error', new Error('boom')],
    ['a message merely mentioning a connection', new Error('Connection terminated unexpectedly, retrying failed: bug')],
    ['domain errors', new ValidationError('bad')],
    ['a conflict', new ConflictError('exists')],
    ['null', null],
    ['a string', 'Connection terminated'],
    ['a refused socket of another client', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED', syscall: 'connect', errno: -111 })],
  ])('%s: not unavailable', (_label, error) => {
    expect(isDatabaseUnavailable(error)).toBe(false);
  });

  it('survives cyclic causes', () => {
    const a = new Error('a') as Error & { cause?: unknown };
    const b = new Error('b', { cause: a });
    a.cause = b;
    expect(isDatabaseUnavailable(a)).toBe(false);
    expect(isConnectionFailure(a)).toBe(false);
  });

  it('isConnectionFailure: socket errors anywhere in the chain (fetch wraps them in "fetch failed")', async () => {
    const fetchError = await thrown(async () => fetch(`http://127.0.0.1:${await closedPort()}/`));
    expect(fetchError).toMatchObject({ message: 'fetch failed' });
    expect(isConnectionFailure(fetchError)).toBe(true);
    expect(isDatabaseUnavailable(fetchError)).toBe(false);
    expect(isConnectionFailure(new Error('ECONNREFUSED'))).toBe(false); // a code needs a syscall
  });
});
