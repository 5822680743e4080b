/**
 * Recognises "PostgreSQL is unreachable or unusable right now" in whatever a
 * repository call throws, without importing Prisma or pg (the HTTP layer maps
 * it to 503 + Retry-After, never 500). Checked against what Prisma 7 with
 * @prisma/adapter-pg and pg 8 actually throw (test/e2e/database-down.e2e-spec.ts
 * cuts PostgreSQL through a TCP proxy):
 *
 * - server gone, open pooled connection reset: `PrismaClientKnownRequestError`
 *   P1017 with `meta.driverAdapterError.cause.kind` "ConnectionClosed";
 * - new connection refused: P1001, kind "DatabaseNotReachable" (P2010 with the
 *   same kind for `$queryRaw`);
 * - server blackholed, new connection: a bare pg `Error` "Connection terminated
 *   due to connection timeout" (cause "Connection terminated unexpectedly")
 *   after `connectionTimeoutMillis`; a transaction: P2028 "Unable to start a
 *   transaction in the given time";
 * - pooled connection stalled with pg's `query_timeout` set: bare `Error`
 *   "Query read timeout";
 * - backend terminated (failover, restart, pg_terminate_backend): P2010/P2039
 *   whose driver error is `kind: "postgres"`, SQLSTATE 57P01.
 */

/** Prisma error codes meaning the database cannot be reached or used now (https://www.prisma.io/docs/orm/reference/error-reference). */
const PRISMA_CODES = new Set([
  'P1000', // authentication failed (credentials rotated under us)
  'P1001', // can't reach database server
  'P1002', // database server reached but timed out
  'P1003', // database does not exist
  'P1008', // operations timed out
  'P1010', // access denied
  'P1011', // error opening a TLS connection
  'P1017', // server has closed the connection
  'P2024', // timed out fetching a new connection from the pool
  'P2037', // too many database connections opened
]);

/** Driver adapter error kinds (@prisma/driver-adapter-utils) with the same meaning. */
const ADAPTER_KINDS = new Set([
  'DatabaseNotReachable',
  'ConnectionClosed',
  'SocketTimeout',
  'TlsConnectionError',
  'TooManyConnections',
  'DatabaseDoesNotExist',
  'DatabaseAccessDenied',
  'AuthenticationFailed',
]);

/**
 * SQLSTATEs: class 08 (connection exception), 57P01 admin shutdown, 57P02
 * crash shutdown, 57P03 cannot connect now (starting up, recovery), 53300 too
 * many connections.
 */
const SQLSTATE = /^(08[0-9A-Z]{3}|57P0[123]|53300)$/;

/**
 * Node socket error codes, when raised by a connect/read (`syscall` set). The
 * adapter maps the common ones to kinds above and rethrows the others raw
 * (EHOSTUNREACH, ...), but a raw one may as well come from any other client
 * (fetch's "fetch failed" has one as its cause): see `isConnectionFailure`.
 */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'ECONNABORTED']);

/** Messages of pg / pg-pool errors that carry no code. */
const PG_MESSAGES = new Set([
  'Connection terminated',
  'Connection terminated unexpectedly',
  'Connection terminated due to connection timeout',
  'timeout exceeded when trying to connect',
  'Query read timeout',
  'Client has encountered a connection error and is not queryable',
]);

const TRANSACTION_START_TIMEOUT = /Unable to start a transaction in the given time/;

/** True when `error` (or anything in its cause chain) says PostgreSQL is unreachable or unusable right now. */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (const node of causeChain(error)) {
    if (nodeSaysUnavailable(node)) return true;
  }
  return false;
}

type ErrorLike = Record<string, unknown>;

function nodeSaysUnavailable(node: ErrorLike): boolean {
  const name = typeof node.name === 'string' ? node.name : '';
  const code = typeof node.code === 'string' ? node.code : undefined;
  const message = typeof node.message === 'string' ? node.message : '';
  if (name === 'PrismaClientInitializationError') return true;
  if (name.startsWith('PrismaClient') && code) {
    if (PRISMA_CODES.has(code)) return true;
    if (code === 'P2028' && TRANSACTION_START_TIMEOUT.test(message)) return true;
  }
  // A driver adapter error's cause: {kind, ...} (kind "postgres" carries the SQLSTATE).
  if (typeof node.kind === 'string') {
    if (ADAPTER_KINDS.has(node.kind)) return true;
    const sqlState = typeof node.originalCode === 'string' ? node.originalCode : code;
    if (node.kind === 'postgres' && sqlState && SQLSTATE.test(sqlState)) return true;
  }
  // A raw pg DatabaseError (code + severity).
  if (code && typeof node.severity === 'string' && SQLSTATE.test(code)) return true;
  return PG_MESSAGES.has(message);
}

/**
 * True when `error` (or its cause chain) is a network failure reaching some
 * dependency (ECONNREFUSED, EHOSTUNREACH, ... with a `syscall`): worth a 503
 * with Retry-After, though not necessarily the database's fault.
 */
export function isConnectionFailure(error: unknown): boolean {
  return causeChain(error).some((node) => typeof node.code === 'string' && SOCKET_CODES.has(node.code) && typeof node.syscall === 'string');
}

/** The error, its `cause`s, Prisma's `meta.driverAdapterError` and AggregateError members, depth-limited. */
function causeChain(error: unknown): ErrorLike[] {
  const out: ErrorLike[] = [];
  const seen = new Set<unknown>();
  const visit = (value: unknown, depth: number): void => {
    if (typeof value !== 'object' || value === null || seen.has(value) || depth > 6) return;
    seen.add(value);
    const node = value as ErrorLike;
    out.push(node);
    visit(node.cause, depth + 1);
    const meta = node.meta;
    if (typeof meta === 'object' && meta !== null) visit((meta as ErrorLike).driverAdapterError, depth + 1);
    if (Array.isArray(node.errors)) for (const inner of node.errors.slice(0, 10)) visit(inner, depth + 1);
  };
  visit(error, 0);
  return out;
}
