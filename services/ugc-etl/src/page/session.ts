/**
 * Who may open the analytics page: login posts to auth's login API (`AuthClient` of
 * @cinema/auth, forwarding the browser's address and user agent); the tokens live in httpOnly,
 * SameSite=Strict cookies scoped to /analytics and are verified on every request with the
 * service's token verifier (an expired access token is refreshed); only `admin` and `super_user`
 * get in. Every POST carries a CSRF token (double submit: a random httpOnly cookie and the same
 * value in a hidden field). The shape of the other admin panels' sessions.
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
import * as views from './views';

export const PAGE_PREFIX = '/analytics';
export const PAGE_ROLES = ['admin', 'super_user'];
export const COOKIE = { access: 'ua_access', refresh: 'ua_refresh', csrf: 'ua_csrf' } as const;
const NO_ROLE = 'This account has neither the admin nor the super_user role.';

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

export const ctxOf = (res: Response): views.ViewContext => {
  const user = res.locals.principal as Principal | undefined;
  return { csrf: res.locals.csrf as string, user: user && { id: user.id, email: user.email } };
};

/** Only the page itself is followed after login (no open redirect). */
export const safeNext = (next: unknown): string =>
  typeof next === 'string' && /^\/analytics(\/?|\/?\?[\w\-.~%&=:+]*)$/.test(next)
    ? next
    : `${PAGE_PREFIX}/`;

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}

const allowed = (p: Principal) => p.roles.some((r) => PAGE_ROLES.includes(r));

export function pageSession(deps: SessionDeps): {
  csrf: RequestHandler;
  routes: Router;
  requireAnalyst: RequestHandler;
} {
  const cookieBase: CookieOptions = {
    httpOnly: true,
    sameSite: 'strict',
    secure: deps.secureCookies,
    path: PAGE_PREFIX,
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
      return send(
        res,
        403,
        views.message(
          { csrf: token },
          'Forbidden',
          'The form expired or did not come from this site. Reload the page and try again.',
        ),
      );
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
      if (!allowed(principal)) {
        deps.logger.warn({ userId: principal.id }, 'analytics page login refused: role');
        return again(403, NO_ROLE);
      }
      setTokens(res, tokens);
      res.redirect(303, target);
    })().catch(next);
  });
  routes.post('/logout', (req, res) => {
    const token = req.cookies?.[COOKIE.access] as string | undefined;
    if (token) void deps.auth.logout(token, clientOf(req));
    clearTokens(res);
    res.redirect(303, `${PAGE_PREFIX}/login`);
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

  const requireAnalyst: RequestHandler = (req, res, next) => {
    signedIn(req, res).then((principal) => {
      if (!principal) {
        clearTokens(res);
        const back = req.method === 'GET' ? `?next=${encodeURIComponent(req.originalUrl)}` : '';
        return res.redirect(303, `${PAGE_PREFIX}/login${back}`);
      }
      res.locals.principal = principal;
      if (!allowed(principal))
        return send(res, 403, views.message(ctxOf(res), 'Forbidden', NO_ROLE));
      next();
    }, next);
  };

  return { csrf, routes, requireAnalyst };
}
