/**
 * The session of a server-rendered admin page (catalog-admin's panel, notifications' campaigns
 * panel, ugc-etl's analytics page): who may use it, and its forms' CSRF protection.
 *
 * - Login posts the form to auth's login API (`AuthClient`, forwarding the browser's address and
 *   user agent); the tokens live in httpOnly, SameSite=Strict cookies scoped to the page's path
 *   and are verified on every request with the service's verifier (revocations included); an
 *   expired access token is refreshed with the refresh cookie. Logout ends the session at auth
 *   too, so every service refuses its tokens, not only this page.
 * - Only the given roles get in (default `admin` and `super_user`); anyone else signed in gets a
 *   403 page, anyone not signed in goes to the login page (with `next`, a path of this page only:
 *   no open redirect).
 * - Every POST carries a CSRF token (double submit: a random httpOnly cookie and the same value in
 *   a hidden field `_csrf`), compared in constant time.
 *
 * The pages themselves (login form, message page) are the panel's own.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import {
  Router,
  type CookieOptions,
  type NextFunction,
  type Request,
  type RequestHandler,
  type Response,
} from 'express';
import { DomainError, UnauthorizedError } from '@cinema/errors';
import type { Logger } from '@cinema/logging';
import { clientOf, type AuthClient, type Tokens } from './client';
import type { Principal, TokenVerifier } from './index';

export const PANEL_ROLES: readonly string[] = ['admin', 'super_user'];

export interface PanelPages {
  /** The login form (`res.locals.csrf` holds the CSRF token). */
  login(
    req: Request,
    res: Response,
    state: { email?: string; error?: string; next: string },
  ): string;
  /** A message page: 403s, an expired form. */
  message(req: Request, res: Response, title: string, text: string): string;
}

export interface PanelSessionOptions {
  /** The page's path: cookies are scoped to it, `/login` and `/logout` are under it. */
  prefix: string;
  cookies: { access: string; refresh: string; csrf: string };
  /** Where a login goes when `next` is missing or not a path of this page. */
  home: string;
  /** In log lines: whose login was refused. */
  name: string;
  roles?: readonly string[];
  verifier: TokenVerifier;
  auth: AuthClient;
  logger: Logger;
  secureCookies: boolean;
  pages: PanelPages;
  /** A named error while checking the session (auth unreachable on refresh): default `next(err)`. */
  onError?: (req: Request, res: Response, err: DomainError) => void;
}

export interface PanelSession {
  /** Sets the CSRF cookie when missing and refuses a POST without the same token (403). */
  csrf: RequestHandler;
  /** GET/POST `/login` and POST `/logout`: open to everyone. */
  routes: Router;
  /** Lets a signed-in user with one of the roles through; sets `res.locals.principal`. */
  requireRole: RequestHandler;
  /** `next` when it is a path of this page, else `home`. */
  safeNext(next: unknown): string;
}

/** A posted form's string field ('' when missing or not a string). */
export const formField = (req: Request, name: string): string => {
  const v = (req.body as Record<string, unknown> | undefined)?.[name];
  return typeof v === 'string' ? v : '';
};

export const sendHtml = (res: Response, status: number, markup: string): void => {
  res.status(status).type('html').send(markup);
};

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

export function panelSession(o: PanelSessionOptions): PanelSession {
  const roles = o.roles ?? PANEL_ROLES;
  const allowed = (p: Principal) => p.roles.some((r) => roles.includes(r));
  const noRole =
    roles === PANEL_ROLES
      ? 'This account has neither the admin nor the super_user role.'
      : `This account has none of the roles ${roles.join(', ')}.`;
  const local = new RegExp(`^${escapeRegExp(o.prefix)}(?:[/?][\\w\\-/?=&%.~:+]*)?$`);
  const safeNext = (next: unknown): string =>
    typeof next === 'string' &&
    local.test(next) &&
    !next.includes('//') &&
    !/(^|\/)(\.|%2e){1,2}(\/|\?|$)/i.test(next) // no dot segments: /p/../x is /x
      ? next
      : o.home;
  const cookieBase: CookieOptions = {
    httpOnly: true,
    sameSite: 'strict',
    secure: o.secureCookies,
    path: o.prefix,
  };
  const setTokens = (res: Response, t: Tokens) => {
    res.cookie(o.cookies.access, t.accessToken, cookieBase);
    if (t.refreshToken) res.cookie(o.cookies.refresh, t.refreshToken, cookieBase);
  };
  const clearTokens = (res: Response) => {
    res.clearCookie(o.cookies.access, cookieBase);
    res.clearCookie(o.cookies.refresh, cookieBase);
  };
  const cookie = (req: Request, name: string): string | undefined =>
    (req.cookies as Record<string, string | undefined> | undefined)?.[name];

  const csrf: RequestHandler = (req, res, next) => {
    let token = cookie(req, o.cookies.csrf);
    if (!token || !/^[\w-]{43}$/.test(token)) {
      token = randomBytes(32).toString('base64url');
      res.cookie(o.cookies.csrf, token, cookieBase);
    }
    res.locals.csrf = token;
    if (req.method === 'POST' && !sameToken(formField(req, '_csrf'), token)) {
      const text =
        'The form expired or did not come from this site. Reload the page and try again.';
      return sendHtml(res, 403, o.pages.message(req, res, 'Forbidden', text));
    }
    next();
  };

  const routes = Router();
  routes.get('/login', (req, res) =>
    sendHtml(res, 200, o.pages.login(req, res, { next: safeNext(req.query.next) })),
  );
  routes.post('/login', (req, res, next) => {
    const email = formField(req, 'email').trim().slice(0, 320);
    const password = formField(req, 'password').slice(0, 1024);
    const target = safeNext(formField(req, 'next'));
    const again = (status: number, error: string) =>
      sendHtml(res, status, o.pages.login(req, res, { email, error, next: target }));
    if (!email || !password) return again(422, 'Enter your e-mail and password.');
    (async () => {
      let tokens: Tokens;
      let principal: Principal;
      try {
        tokens = await o.auth.login(email, password, clientOf(req));
        principal = await o.verifier(tokens.accessToken);
      } catch (err) {
        if (err instanceof DomainError)
          return again(err instanceof UnauthorizedError ? 401 : err.status, err.message);
        throw err;
      }
      if (!allowed(principal)) {
        o.logger.warn({ userId: principal.id }, `${o.name} login refused: role`);
        return again(403, noRole);
      }
      setTokens(res, tokens);
      o.logger.info({ userId: principal.id }, `${o.name} login`);
      res.redirect(303, target);
    })().catch(next);
  });
  routes.post('/logout', (req, res) => {
    const token = cookie(req, o.cookies.access);
    clearTokens(res);
    const done = () => res.redirect(303, `${o.prefix}/login`);
    if (!token) return done();
    // The session ends at auth too; the cookies go here even when auth cannot be reached.
    o.auth.logout(token, clientOf(req)).then(done, (err: unknown) => {
      o.logger.warn({ err }, `${o.name} logout: auth did not end the session`);
      done();
    });
  });

  const signedIn = async (req: Request, res: Response): Promise<Principal | undefined> => {
    const token = cookie(req, o.cookies.access);
    if (token) {
      try {
        return await o.verifier(token);
      } catch (err) {
        if (!(err instanceof UnauthorizedError)) throw err;
      }
    }
    const refresh = cookie(req, o.cookies.refresh);
    if (refresh) {
      try {
        const tokens = await o.auth.refresh(refresh, clientOf(req));
        const principal = await o.verifier(tokens.accessToken);
        setTokens(res, tokens);
        return principal;
      } catch (err) {
        if (!(err instanceof UnauthorizedError)) throw err;
      }
    }
    return undefined;
  };

  const requireRole: RequestHandler = (req: Request, res: Response, next: NextFunction) => {
    signedIn(req, res).then(
      (principal) => {
        if (!principal) {
          clearTokens(res);
          const back = req.method === 'GET' ? `?next=${encodeURIComponent(req.originalUrl)}` : '';
          return res.redirect(303, `${o.prefix}/login${back}`);
        }
        res.locals.principal = principal;
        if (!allowed(principal))
          return sendHtml(res, 403, o.pages.message(req, res, 'Forbidden', noRole));
        next();
      },
      (err: unknown) => {
        if (err instanceof DomainError && o.onError) o.onError(req, res, err);
        else next(err);
      },
    );
  };

  return { csrf, routes, requireRole, safeNext };
}
