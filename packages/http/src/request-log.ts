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

/** Query parameters whose values never reach a log (signed links, OAuth codes, tokens). */
const SECRET_PARAM = /token|secret|password|passwd|code|key|signature|sig$/i;

/**
 * The URL as it may be logged: the values of secret-looking query parameters (an unsubscribe
 * link's `token`, an OAuth callback's `code`, ...) are replaced by `[redacted]`.
 */
export function loggableUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const params = url
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const name = eq < 0 ? pair : pair.slice(0, eq);
      let decoded = name;
      try {
        decoded = decodeURIComponent(name);
      } catch {
        /* a malformed name is logged as it came */
      }
      return eq >= 0 && SECRET_PARAM.test(decoded) ? `${name}=[redacted]` : pair;
    });
  return `${url.slice(0, q)}?${params.join('&')}`;
}

/**
 * The access-log line of an answer: no headers (they may carry credentials), and no secret query
 * values (`loggableUrl`). Call within the request's logging context.
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
  url = loggableUrl(url);
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
