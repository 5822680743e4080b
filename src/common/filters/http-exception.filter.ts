import { ArgumentsHost, Catch, HttpException, HttpStatus, Logger, type ExceptionFilter } from '@nestjs/common';
import type { Request, Response } from 'express';
import { DomainError, type ErrorDetail } from '../errors/domain-errors';
import { requestIdFor } from '../http/request-id';

export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
  details?: ErrorDetail[];
  requestId: string;
}

/**
 * The single place where errors become HTTP responses, shaped as the contract
 * says. 5xx bodies never carry a stack trace or the request body; the cause is
 * logged with the request id instead.
 */
@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpError');

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
    const body = this.toBody(exception, String(req.id ?? requestIdFor(req)));
    if (body.statusCode >= 500) {
      this.logger.error({ err: exception, requestId: body.requestId }, `${req.method} ${req.route?.path ?? 'unmatched'} failed`);
    }
    if (!res.headersSent) res.status(body.statusCode).json(body);
  }

  private toBody(exception: unknown, requestId: string): ErrorBody {
    if (exception instanceof DomainError) {
      return this.shape(exception.statusCode, exception.message, exception.details, requestId);
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
