import { ArgumentsHost, Catch, HttpException, HttpStatus, Logger, type ExceptionFilter } from '@nestjs/common';
import type { Request, Response } from 'express';
import { isConnectionFailure, isDatabaseUnavailable } from '../errors/database-unavailable';
import {
  DATABASE_UNAVAILABLE_MESSAGE,
  DEFAULT_RETRY_AFTER_SECONDS,
  DomainError,
  ServiceUnavailableError,
  type ErrorDetail,
} from '../errors/domain-errors';
import { requestIdFor } from '../http/request-id';

export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
  details?: ErrorDetail[];
  requestId: string;
}

/** How often, at most, an outage of a dependency is logged (with the count of requests it failed meanwhile). */
const UNAVAILABLE_LOG_EVERY_MS = 10_000;

/**
 * The single place where errors become HTTP responses, shaped as the contract
 * says. 5xx bodies never carry a stack trace or the request body; the cause is
 * logged with the request id instead.
 *
 * PostgreSQL unreachable (any Prisma/pg connectivity error, recognised without
 * importing either: common/errors/database-unavailable.ts) is a 503 with
 * `Retry-After` on every route, never a 500; so is every other 503
 * (ServiceUnavailableError, a refused connection to another dependency).
 */
@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpError');
  private unavailableLoggedAt = 0;
  private unavailableSuppressed = 0;

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const req = ctx.getRequest<Request & { id?: string }>();
    const res = ctx.getResponse<Response>();
    if (isTerminusBody(exception)) {
      // Health probes keep Terminus' {status, info, error, details} body.
      res.status(exception.getStatus()).json(exception.getResponse());
      return;
    }
    // Body-parser errors (malformed JSON, 413) happen before pino-http assigns req.id.
    const requestId = String(req.id ?? requestIdFor(req));
    const route = `${req.method} ${req.route?.path ?? 'unmatched'}`;
    const unavailable = this.unavailable(exception, requestId);
    const body = unavailable?.body ?? this.toBody(exception, requestId);
    if (unavailable) this.logUnavailable(exception, requestId, route);
    else if (body.statusCode >= 500) this.logger.error({ err: exception, requestId }, `${route} failed`);
    if (res.headersSent) return;
    if (body.statusCode === 503) res.setHeader('Retry-After', String(unavailable?.retryAfterSeconds ?? DEFAULT_RETRY_AFTER_SECONDS));
    res.status(body.statusCode).json(body);
  }

  /** A dependency is down: 503 and how long to wait, whatever the route. */
  private unavailable(exception: unknown, requestId: string): { body: ErrorBody; retryAfterSeconds: number } | null {
    if (exception instanceof ServiceUnavailableError) {
      return { body: this.shape(503, exception.message, exception.details, requestId), retryAfterSeconds: wholeSeconds(exception.retryAfterSeconds) };
    }
    if (exception instanceof DomainError) return null;
    if (isDatabaseUnavailable(exception)) {
      return { body: this.shape(503, DATABASE_UNAVAILABLE_MESSAGE, undefined, requestId), retryAfterSeconds: DEFAULT_RETRY_AFTER_SECONDS };
    }
    if (isConnectionFailure(exception)) {
      return { body: this.shape(503, 'A dependency is unavailable, retry later', undefined, requestId), retryAfterSeconds: DEFAULT_RETRY_AFTER_SECONDS };
    }
    return null;
  }

  /**
   * One line per outage window rather than a stack per request: while
   * PostgreSQL is down every request fails the same way (readiness reports it).
   */
  private logUnavailable(exception: unknown, requestId: string, route: string): void {
    const now = Date.now();
    if (now - this.unavailableLoggedAt < UNAVAILABLE_LOG_EVERY_MS) {
      this.unavailableSuppressed += 1;
      return;
    }
    const more = this.unavailableSuppressed ? ` (${this.unavailableSuppressed} more since the last report)` : '';
    this.logger.warn({ requestId }, `${route} answered 503: ${lastLine(exception)}${more}`);
    this.unavailableLoggedAt = now;
    this.unavailableSuppressed = 0;
  }

  private toBody(exception: unknown, requestId: string): ErrorBody {
    if (exception instanceof DomainError) {
      const body = this.shape(exception.statusCode, exception.message, exception.details, requestId);
      return exception.bodyFields ? { ...exception.bodyFields, ...body } : body;
    }
    // Body-parser errors arrive raw or wrapped by Nest's Express adapter (as `cause`);
    // their own messages are JSON.parse details, so say what happened instead.
    const parserType = bodyParserErrorType(exception);
    if (parserType === 'entity.parse.failed') return this.shape(400, 'Request body is not valid JSON', undefined, requestId);
    if (parserType === 'entity.too.large') return this.shape(413, 'Request body is larger than the allowed limit', undefined, requestId);
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const response = exception.getResponse();
      const message =
        typeof response === 'string'
          ? response
          : String((response as { message?: unknown }).message ?? exception.message);
      return this.shape(status, message, undefined, requestId);
    }
    // Errors raised by body-parser (malformed JSON, too large) carry a status.
    const status = (exception as { status?: unknown; statusCode?: unknown })?.status ?? (exception as { statusCode?: unknown })?.statusCode;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      const type = (exception as { type?: string }).type;
      const message =
        type === 'entity.too.large'
          ? 'Request body is larger than the allowed limit'
          : type === 'entity.parse.failed'
            ? 'Request body is not valid JSON'
            : ((exception as Error).message ?? 'Bad request');
      return this.shape(status, message, undefined, requestId);
    }
    return this.shape(HttpStatus.INTERNAL_SERVER_ERROR, 'Internal server error', undefined, requestId);
  }

  private shape(statusCode: number, message: string, details: ErrorDetail[] | undefined, requestId: string): ErrorBody {
    return {
      statusCode,
      error: reasonPhrase(statusCode),
      message,
      ...(details && details.length ? { details } : {}),
      requestId,
    };
  }
}

function wholeSeconds(value: number): number {
  return Number.isFinite(value) && value > 0 ? Math.ceil(value) : DEFAULT_RETRY_AFTER_SECONDS;
}

/** Prisma messages span several lines (call site, code frame) whose last one says what happened. */
function lastLine(exception: unknown): string {
  const message = exception instanceof Error ? exception.message : String(exception);
  const lines = message.split('\n').map((l) => l.trim()).filter(Boolean);
  return (lines[lines.length - 1] ?? 'unknown error').slice(0, 300);
}

function bodyParserErrorType(exception: unknown): string | undefined {
  const own = (exception as { type?: unknown } | null)?.type;
  const cause = (exception as { cause?: { type?: unknown } } | null)?.cause?.type;
  const type = typeof own === 'string' ? own : cause;
  return typeof type === 'string' ? type : undefined;
}

function isTerminusBody(exception: unknown): exception is HttpException {
  if (!(exception instanceof HttpException)) return false;
  const response = exception.getResponse();
  return typeof response === 'object' && response !== null && 'status' in response && 'details' in response;
}

const PHRASES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  409: 'Conflict',
  410: 'Gone',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Entity',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export function reasonPhrase(status: number): string {
  return PHRASES[status] ?? (status >= 500 ? 'Server Error' : 'Client Error');
}
