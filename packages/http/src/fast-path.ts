/**
 * Pieces for a service's hot path served ahead of Express (see ugc-collector's event intake and
 * catalog-api's replay of cached answers): Express costs about 0.25 ms of CPU per request on the
 * 2-core machine before a handler runs, `node:http` a tenth of that. A fast path answers only the
 * plain case and hands everything else to the app, which answers as it always did.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import type { Logger } from '@cinema/logging';

/** Answers `req` itself, or calls `fallback` to let the Express app answer it. */
export type FastHandler = (req: IncomingMessage, res: ServerResponse, fallback: () => void) => void;

/** Makes `app` offer every request to `fast` first; what `fast` declines goes the Express way. */
export function withFastPath<T extends object>(app: T, fast: FastHandler): T {
  const express = app as unknown as {
    handle: (req: IncomingMessage, res: ServerResponse, next?: unknown) => void;
  };
  const slow = express.handle.bind(app);
  express.handle = (req, res, next) => fast(req, res, () => slow(req, res, next));
  return app;
}

/**
 * The headers `middlewares` (helmet, cors, ...) set on an answer to a `method` request without
 * an Origin header: they do not depend on the request, so a fast path sets them as they are.
 */
export function headersSetBy(
  middlewares: RequestHandler | RequestHandler[],
  method = 'GET',
): Array<[string, string]> {
  const set = new Map<string, string>();
  const res = {
    setHeader: (name: string, value: string | number | string[]) => {
      set.set(name, Array.isArray(value) ? value.join(', ') : String(value));
    },
    removeHeader: (name: string) => set.delete(name),
    getHeader: (name: string) => set.get(name),
    get statusCode() {
      return 200;
    },
    set statusCode(_: number) {
      /* preflight answers are not taken on a fast path */
    },
    end: () => undefined,
  };
  for (const middleware of Array.isArray(middlewares) ? middlewares : [middlewares]) {
    let called = false;
    middleware({ headers: {}, method, url: '/' } as never, res as never, () => {
      called = true;
    });
    if (!called) throw new Error('headersSetBy: a middleware did not call next synchronously');
  }
  return [...set];
}

const REQUEST_ID = /^[\w.:-]{1,128}$/;

/** `X-Request-Id` as the app takes it: the caller's when well-formed, else a new UUID. */
export function requestIdOf(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

/**
 * The access-log line of an answer (the app's access log and fast paths write the same): no
 * headers, they may carry credentials. Call within the request's logging context.
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
