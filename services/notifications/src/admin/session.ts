/**
 * Who may use the campaigns panel, and its forms' CSRF protection (the shape of catalog-admin's
 * panel): login posts to auth's login API; the tokens live in httpOnly, SameSite=Strict cookies
 * scoped to the panel's path and are verified on every request against the auth JWKS (an expired
 * access token is refreshed); only `admin` and `super_user` get in. Every POST carries a CSRF
 * token (double submit: a random httpOnly cookie and the same value in a hidden field).
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
import { ADMIN_PREFIX } from './paths';
import * as views from './views';

export { ADMIN_PREFIX };

export const ADMIN_ROLES = ['admin', 'super_user'];
export const COOKIE = { access: 'na_access', refresh: 'na_refresh', csrf: 'na_csrf' } as const;
const NO_ADMIN_ROLE = 'This account has neither the admin nor the super_user role.';

export interface SessionDeps {
  verifier: TokenVerifier;
  auth: AuthClient;
  logger: Logger;
  secureCookies: boolean;
}

export const field = (req: Request, name: string): string => {
  const v = (req.body as Record<string, unknown> | undefined)?.[name];
  return typeof v === 'string' ? v : '';
};

export const send = (res: Response, status: number, markup: string): void => {
  res.status(status).type('html').send(markup);
};

export function ctxOf(res: Response, notice?: string): views.ViewContext {
  const user = res.locals.principal as Principal | undefined;
  return {
    csrf: res.locals.csrf as string,
    user: user && { id: user.id, email: user.email },
    notice,
  };
}

/** Only local panel paths are followed after login (no open redirect). */
export const safeNext = (next: unknown): string =>
  typeof next === 'string' && /^\/notifications\/admin(\/[\w\-/?=&%.]*)?$/.test(next)
    ? next
    : `${ADMIN_PREFIX}/campaigns`;

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}

const isAdmin = (p: Principal) => p.roles.some((r) => ADMIN_ROLES.includes(r));

export function adminSession(deps: SessionDeps): {
  csrf: RequestHandler;
  routes: Router;
  requireAdmin: RequestHandler;
} {
  const cookieBase: CookieOptions = {
    httpOnly: true,
    sameSite: 'strict',
    secure: deps.secureCookies,
    path: ADMIN_PREFIX,
  };
  const setTokens = (res: Response, t: Tokens) => {
    res.cookie(COOKIE.access, t.accessToken, cookieBase);
    if (t.refreshToken) res.cookie(COOKIE.refresh, t.refreshToken, cookieBase);
  };
  const clearTokens = (res: Response) => {
    res.clearCookie(COOKIE.access, cookieBase);
    res.clearCookie(COOKIE.refresh, cookieBase);
  };

  const csrf: RequestHandler = (req, res, next) => {
    let token = req.cookies?.[COOKIE.csrf] as string | undefined;
    if (!token || !/^[\w-]{43}$/.test(token)) {
      token = randomBytes(32).toString('base64url');
      res.cookie(COOKIE.csrf, token, cookieBase);
    }
    res.locals.csrf = token;
    if (req.method === 'POST' && !sameToken(field(req, '_csrf'), token)) {
      send(
        res,
        403,
        views.message(
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
  routes.get('/login', (req, res) =>
    send(res, 200, views.login(ctxOf(res), { next: safeNext(req.query.next) })),
  );
  routes.post('/login', (req, res, next) => {
    const email = field(req, 'email').trim().slice(0, 320);
    const password = field(req, 'password').slice(0, 1024);
    const target = safeNext(field(req, 'next'));
    const again = (status: number, error: string) =>
      send(res, status, views.login(ctxOf(res), { email, error, next: target }));
    if (!email || !password) return again(422, 'Enter your e-mail and password.');
    (async () => {
      let tokens: Tokens;
      let principal: Principal;
      try {
        tokens = await deps.auth.login(email, password, clientOf(req));
        principal = await deps.verifier(tokens.accessToken);
      } catch (err) {
        if (err instanceof DomainError)
          return again(err instanceof UnauthorizedError ? 401 : err.status, err.message);
        throw err;
      }
      if (!isAdmin(principal)) {
        deps.logger.warn({ userId: principal.id }, 'notifications admin login refused: role');
        return again(403, NO_ADMIN_ROLE);
      }
      setTokens(res, tokens);
      res.redirect(303, target);
    })().catch(next);
  });
  routes.post('/logout', (_req, res) => {
    clearTokens(res);
    res.redirect(303, `${ADMIN_PREFIX}/login`);
  });

  const signedIn = async (req: Request, res: Response): Promise<Principal | undefined> => {
    const token = req.cookies?.[COOKIE.access] as string | undefined;
    if (token) {
      try {
        return await deps.verifier(token);
      } catch (err) {
        if (!(err instanceof UnauthorizedError)) throw err;
      }
    }
    const refresh = req.cookies?.[COOKIE.refresh] as string | undefined;
    if (refresh) {
      try {
        const tokens = await deps.auth.refresh(refresh, clientOf(req));
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
    signedIn(req, res).then((principal) => {
      if (!principal) {
        clearTokens(res);
        const back = req.method === 'GET' ? `?next=${encodeURIComponent(req.originalUrl)}` : '';
        res.redirect(303, `${ADMIN_PREFIX}/login${back}`);
        return;
      }
      res.locals.principal = principal;
      if (!isAdmin(principal))
        return send(res, 403, views.message(ctxOf(res), 'Forbidden', NO_ADMIN_ROLE));
      next();
    }, next);
  };

  return { csrf, routes, requireAdmin };
}
