/**
 * The request id and the access-log line every answer gets (used by the app's middleware).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Logger } from '@cinema/logging';

const REQUEST_ID = /^[\w.:-]{1,128}$/;

/** `X-Request-Id` as the app takes it: the caller's when well-formed, else a new UUID. */
export function requestIdOf(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

/**
 * The access-log line of an answer: no headers, they may carry credentials. Call within the request's logging context.
 */
export function logAccess(
  logger: Logger,
  req: IncomingMessage,
  url: string,
  status: number,
  ms: number,
): void {
  const level = status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info';
  if (!logger.isLevelEnabled(level)) return;
  logger[level](
    {
      req: {
        method: req.method,
        url,
        remoteAddress: req.socket.remoteAddress,
        userAgent: req.headers['user-agent'],
      },
      res: { statusCode: status },
      responseTime: ms,
    },
    `${req.method} ${url} ${status} ${ms}ms`,
  );
}
