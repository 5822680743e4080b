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
  /** Fields a route's contract adds to the error body (e.g. `status` of GET /api/media/:id); never overrides the standard ones. */
  readonly bodyFields?: Record<string, string>;
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
/** The resource existed and is gone for good (e.g. a media file pruned with its history). */
export class GoneError extends DomainError {
  readonly statusCode = 410;
}
/** Same idempotency key with a different body, and similar semantic mismatches. */
export class UnprocessableError extends DomainError {
  readonly statusCode = 422;
}
/** Seconds a client is told to wait (`Retry-After`) when a dependency is unavailable. */
export const DEFAULT_RETRY_AFTER_SECONDS = 5;

/** A dependency (PostgreSQL, Redis, WhatsApp) is unavailable right now: 503 with `Retry-After`. */
export class ServiceUnavailableError extends DomainError {
  readonly statusCode = 503;
  constructor(
    message: string,
    details?: ErrorDetail[],
    /** Sent as the `Retry-After` header (whole seconds). */
    readonly retryAfterSeconds: number = DEFAULT_RETRY_AFTER_SECONDS,
  ) {
    super(message, details);
  }
}

/**
 * PostgreSQL cannot be reached or used right now. Repositories may throw it;
 * the HTTP filter also recognises Prisma/pg connectivity errors as such
 * (common/errors/database-unavailable.ts).
 */
export const DATABASE_UNAVAILABLE_MESSAGE = 'Database unavailable, retry later';

export class DatabaseUnavailableError extends ServiceUnavailableError {
  constructor(message = DATABASE_UNAVAILABLE_MESSAGE, retryAfterSeconds = DEFAULT_RETRY_AFTER_SECONDS) {
    super(message, undefined, retryAfterSeconds);
  }
}
