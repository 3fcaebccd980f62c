/**
 * Named domain errors. They carry a status and a title (the problem's kind) but know nothing of
 * Express: the domain throws them, and one place in `@cinema/http` answers them as RFC 9457
 * `application/problem+json`.
 */

export abstract class DomainError extends Error {
  abstract readonly status: number;
  abstract readonly title: string;
  /** Extra members of the problem document. */
  readonly extra: Record<string, unknown> = {};
  constructor(message?: string) {
    super(message);
    this.name = new.target.name;
  }
  get type(): string {
    return `https://cinema.dev/problems/${this.title.toLowerCase().replace(/[^a-z]+/g, '-')}`;
  }
}

export class BadRequestError extends DomainError {
  readonly status = 400;
  readonly title = 'Bad Request';
}

export class UnauthorizedError extends DomainError {
  readonly status = 401;
  readonly title = 'Unauthorized';
}

export class ForbiddenError extends DomainError {
  readonly status = 403;
  readonly title = 'Forbidden';
}

export class NotFoundError extends DomainError {
  readonly status = 404;
  readonly title = 'Not Found';
}

export class ConflictError extends DomainError {
  readonly status = 409;
  readonly title = 'Conflict';
}

export class ValidationError extends DomainError {
  readonly status = 422;
  readonly title = 'Unprocessable Content';
  constructor(
    message: string,
    readonly fields: Record<string, { message: string; value?: unknown }> = {},
  ) {
    super(message);
  }
}

export class TooManyRequestsError extends DomainError {
  readonly status = 429;
  readonly title = 'Too Many Requests';
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
  }
}

export class ServiceUnavailableError extends DomainError {
  readonly status = 503;
  readonly title = 'Service Unavailable';
  constructor(
    message: string,
    readonly retryAfterSeconds = 5,
  ) {
    super(message);
  }
}
