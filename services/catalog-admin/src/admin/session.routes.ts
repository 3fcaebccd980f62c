/**
 * Who may use the admin panel, and the forms' CSRF protection.
 *
 * Login posts the form to the auth service's login API; the access token (and the refresh token)
 * are kept in httpOnly, SameSite=Strict cookies and verified on every request against the auth
 * JWKS (an expired access token is refreshed with the refresh cookie); only `admin` and
 * `super_user` get in. Every POST carries a CSRF token (double submit: a random httpOnly cookie
 * and the same value in a hidden form field).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import {
  Router,
  type CookieOptions,
  type Request,
  type RequestHandler,
  type Response,
} from 'express';
import {
  clientOf,
  type AuthClient,
  type Principal,
  type TokenVerifier,
  type Tokens,
} from '@cinema/auth';
import { DomainError, UnauthorizedError } from '@cinema/errors';
import type { Logger } from '@cinema/logging';

import { errorPage, field, handle, sendPage, viewContext } from './pages';
import * as views from './views';

export const ADMIN_ROLES = ['admin', 'super_user'];
export const COOKIE = { access: 'ca_access', refresh: 'ca_refresh', csrf: 'ca_csrf' } as const;

const NO_ADMIN_ROLE = 'This account has neither the admin nor the super_user role.';

export interface SessionDeps {
  verifier: TokenVerifier;
  auth: AuthClient;
  logger: Logger;
  secureCookies: boolean;
}

export interface AdminSession {
  /** Sets the CSRF cookie when missing and refuses a POST without the same token (403). */
  csrf: RequestHandler;
  /** GET/POST /login and POST /logout: open to everyone. */
  routes: Router;
  /** Lets a signed-in admin through; anyone else goes to the login page or gets a 403 page. */
  requireAdmin: RequestHandler;
}

/** Only local admin paths are followed after login (no open redirect). */
export const safeNext = (next: unknown): string =>
  typeof next === 'string' && /^\/admin(\/[\w\-/?=&%.]*)?$/.test(next) && !next.startsWith('//')
    ? next
    : '/admin/films';

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}

const isAdmin = (principal: Principal): boolean =>
  principal.roles.some((r) => ADMIN_ROLES.includes(r));

export function adminSession(deps: SessionDeps): AdminSession {
  const cookieBase: CookieOptions = {
    httpOnly: true,
    sameSite: 'strict',
    secure: deps.secureCookies,
    path: '/admin',
  };
  const setTokens = (res: Response, tokens: Tokens) => {
    res.cookie(COOKIE.access, tokens.accessToken, cookieBase);
    if (tokens.refreshToken) res.cookie(COOKIE.refresh, tokens.refreshToken, cookieBase);
  };
  const clearTokens = (res: Response) => {
    res.clearCookie(COOKIE.access, cookieBase);
    res.clearCookie(COOKIE.refresh, cookieBase);
  };

  // CSRF: a random token per browser, in an httpOnly cookie and in every form.
  const csrf: RequestHandler = (req, res, next) => {
    let token = req.cookies?.[COOKIE.csrf] as string | undefined;
    if (!token || !/^[\w-]{43}$/.test(token)) {
      token = randomBytes(32).toString('base64url');
      res.cookie(COOKIE.csrf, token, cookieBase);
    }
    res.locals.csrf = token;
    if (req.method === 'POST' && !sameToken(field(req, '_csrf'), token)) {
      sendPage(
        res,
        403,
        views.messagePage(
          { csrf: token },
          'Forbidden',
          'The form expired or did not come from this site. Reload the page and try again.',
        ),
      );
      return;
    }
    next();
  };

  const routes = Router();

  routes.get(
    '/login',
    handle(deps.logger, async (req, res) => {
      sendPage(
        res,
        200,
        views.loginPage(viewContext(req, res), { next: safeNext(req.query.next) }),
      );
    }),
  );

  routes.post(
    '/login',
    handle(deps.logger, async (req, res) => {
      const email = field(req, 'email').trim().slice(0, 320);
      const password = field(req, 'password');
      const next = safeNext(field(req, 'next'));
      const again = (status: number, error: string) =>
        sendPage(res, status, views.loginPage(viewContext(req, res), { email, error, next }));
      if (!email || !password) return again(422, 'Enter your e-mail and password.');
      let principal: Principal;
      let tokens: Tokens;
      try {
        tokens = await deps.auth.login(email, password.slice(0, 1024), clientOf(req));
        principal = await deps.verifier(tokens.accessToken);
      } catch (err) {
        if (err instanceof UnauthorizedError) return again(401, err.message);
        if (err instanceof DomainError) return again(err.status, err.message);
        throw err;
      }
      if (!isAdmin(principal)) {
        deps.logger.warn({ userId: principal.id }, 'admin login refused: role');
        return again(403, NO_ADMIN_ROLE);
      }
      setTokens(res, tokens);
      deps.logger.info({ userId: principal.id }, 'admin login');
      res.redirect(303, next);
    }),
  );

  routes.post(
    '/logout',
    handle(deps.logger, async (req, res) => {
      // The session ends at auth too (every service then refuses its tokens), not only here.
      const token = (req.cookies as Record<string, string | undefined> | undefined)?.[
        COOKIE.access
      ];
      if (token) await deps.auth.logout(token, clientOf(req));
      clearTokens(res);
      res.redirect(303, '/admin/login');
    }),
  );

  /** The signed-in principal, refreshing an expired access token; undefined when none. */
  const signedIn = async (req: Request, res: Response): Promise<Principal | undefined> => {
    const cookies = req.cookies as Record<string, string | undefined> | undefined;
    const token = cookies?.[COOKIE.access];
    if (token) {
      try {
        return await deps.verifier(token);
      } catch (err) {
        if (!(err instanceof UnauthorizedError)) throw err;
      }
    }
    const refreshToken = cookies?.[COOKIE.refresh];
    if (refreshToken) {
      try {
        const tokens = await deps.auth.refresh(refreshToken, clientOf(req));
        const principal = await deps.verifier(tokens.accessToken);
        setTokens(res, tokens);
        return principal;
      } catch (err) {
        if (!(err instanceof UnauthorizedError)) throw err;
      }
    }
    return undefined;
  };

  const requireAdmin: RequestHandler = (req, res, next) => {
    signedIn(req, res).then(
      (principal) => {
        if (!principal) {
          clearTokens(res);
          const back = req.method === 'GET' ? `?next=${encodeURIComponent(req.originalUrl)}` : '';
          res.redirect(303, `/admin/login${back}`);
          return;
        }
        res.locals.principal = principal;
        if (!isAdmin(principal)) {
          sendPage(res, 403, views.messagePage(viewContext(req, res), 'Forbidden', NO_ADMIN_ROLE));
          return;
        }
        next();
      },
      (err: unknown) => {
        if (err instanceof DomainError) errorPage(req, res, err);
        else next(err);
      },
    );
  };

  return { csrf, routes, requireAdmin };
}

/**
 * The browser behind a request, forwarded to auth: `req.ip` is the address Express resolved
 * through the proxies this service trusts (the gateway), the socket's address otherwise.
 */
