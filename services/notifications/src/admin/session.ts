/**
 * Who may use the campaigns panel, and its forms' CSRF protection: `panelSession` of
 * @cinema/auth (login through auth, httpOnly SameSite=Strict cookies scoped to the panel, refresh,
 * logout at auth, `admin`/`super_user` only, double-submit CSRF) with this panel's pages.
 */
import type { Request, Response } from 'express';
import {
  formField,
  panelSession,
  sendHtml,
  type AuthClient,
  type PanelSession,
  type Principal,
  type TokenVerifier,
} from '@cinema/auth';
import type { Logger } from '@cinema/logging';
import { ADMIN_PREFIX } from './paths';
import * as views from './views';

export { ADMIN_PREFIX };

export const COOKIE = { access: 'na_access', refresh: 'na_refresh', csrf: 'na_csrf' } as const;

export interface SessionDeps {
  verifier: TokenVerifier;
  auth: AuthClient;
  logger: Logger;
  secureCookies: boolean;
}

export const field = formField;
export const send = sendHtml;

export function ctxOf(res: Response, notice?: string): views.ViewContext {
  const user = res.locals.principal as Principal | undefined;
  return {
    csrf: res.locals.csrf as string,
    user: user && { id: user.id, email: user.email },
    notice,
  };
}

export function adminSession(deps: SessionDeps): PanelSession {
  return panelSession({
    ...deps,
    prefix: ADMIN_PREFIX,
    cookies: COOKIE,
    home: `${ADMIN_PREFIX}/campaigns`,
    name: 'notifications admin',
    pages: {
      login: (_req: Request, res: Response, state) => views.login(ctxOf(res), state),
      message: (_req: Request, res: Response, title, text) =>
        views.message(ctxOf(res), title, text),
    },
  });
}
