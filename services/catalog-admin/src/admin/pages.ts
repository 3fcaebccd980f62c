/**
 * What every admin route shares: reading the posted form, the view context (CSRF token, signed-in
 * user, notice), sending a page, and `handle`, which turns a handler's named errors into pages
 * (401: to the login page; other 4xx: a message page with that status; 5xx: the same with
 * `Retry-After`, logged).
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Principal } from '@cinema/auth';
import { DomainError, UnauthorizedError } from '@cinema/errors';
import type { Logger } from '@cinema/logging';
import type { CatalogService } from '../domain/catalog.service';
import * as views from './views';

/** What the entity routes (films, genres, persons) need. */
export interface CatalogRouteDeps {
  catalog: CatalogService;
  logger: Logger;
}

export type Handler = (req: Request, res: Response) => Promise<void>;

export const body = (req: Request): Record<string, unknown> =>
  req.body && typeof req.body === 'object' ? (req.body as Record<string, unknown>) : {};

export const field = (req: Request, name: string): string => {
  const v = body(req)[name];
  return typeof v === 'string' ? v : '';
};

export const param = (req: Request, name: string): string => String(req.params[name] ?? '');

export function viewContext(req: Request, res: Response): views.ViewContext {
  const user = res.locals.principal as Principal | undefined;
  const notice = typeof req.query.notice === 'string' ? req.query.notice : undefined;
  return {
    csrf: res.locals.csrf as string,
    user: user && { id: user.id, email: user.email, roles: user.roles },
    notice,
  };
}

export function sendPage(res: Response, status: number, markup: string): void {
  res.status(status).type('html').send(markup);
}

/** A message page for a named error (its status, title and message). */
export function errorPage(req: Request, res: Response, err: DomainError): void {
  sendPage(res, err.status, views.messagePage(viewContext(req, res), err.title, err.message));
}

export const handle =
  (logger: Logger, fn: Handler): RequestHandler =>
  (req: Request, res: Response, next: NextFunction): void => {
    fn(req, res).catch((err: unknown) => {
      if (err instanceof UnauthorizedError) {
        res.redirect(303, `/admin/login?next=${encodeURIComponent(req.originalUrl)}`);
        return;
      }
      if (err instanceof DomainError && err.status < 500) {
        errorPage(req, res, err);
        return;
      }
      if (err instanceof DomainError) {
        res.setHeader('Retry-After', '5');
        logger.warn({ err }, 'admin page failed');
        errorPage(req, res, err);
        return;
      }
      next(err);
    });
  };
