/**
 * The problem document every error answer carries. The errors themselves live in
 * `@cinema/errors` (re-exported here for controllers); the error handler in app.ts maps them.
 */
export * from '@cinema/errors';

/** The body of every error answer. Documented on controllers with @Response<ProblemDetails>. */
export interface ProblemDetails {
  /** A URI naming the kind of problem. */
  type: string;
  title: string;
  status: number;
  detail?: string;
  /** The path of the request. */
  instance?: string;
  /** Field-level problems of a rejected request body, query or path. */
  errors?: Record<string, { message: string; value?: unknown }>;
  /** Present on 5xx answers: the id under which the error was logged. */
  errorId?: string;
  /** Seconds to wait before trying again (429, 503). */
  retryAfter?: number;
}
