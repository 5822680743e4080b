/**
 * Domain errors thrown by services. The HTTP layer maps them to status codes in
 * one place (common/filters/http-exception.filter.ts); services never import
 * HTTP concerns.
 */
export interface ErrorDetail {
  field?: string;
  message: string;
}

export abstract class DomainError extends Error {
  abstract readonly statusCode: number;
  constructor(
    message: string,
    readonly details?: ErrorDetail[],
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class ValidationError extends DomainError {
  readonly statusCode = 400;
}
export class UnauthorizedError extends DomainError {
  readonly statusCode = 401;
}
export class NotFoundError extends DomainError {
  readonly statusCode = 404;
}
export class ConflictError extends DomainError {
  readonly statusCode = 409;
}
/** Same idempotency key with a different body, and similar semantic mismatches. */
export class UnprocessableError extends DomainError {
  readonly statusCode = 422;
}
/** A dependency (PostgreSQL, Redis, WhatsApp) is unavailable right now. */
export class ServiceUnavailableError extends DomainError {
  readonly statusCode = 503;
}
