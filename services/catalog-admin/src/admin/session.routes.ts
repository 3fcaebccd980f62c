/**
 * Who may use the admin panel, and the forms' CSRF protection: `panelSession` of @cinema/auth
 * (login through the auth service's login API, httpOnly SameSite=Strict cookies verified on every
 * request with refresh, logout ending the session at auth, `admin`/`super_user` only,
 * double-submit CSRF on every POST) with this panel's pages.
 */
import type { RequestHandler, Router } from 'express';
import { PANEL_ROLES, panelSession, type AuthClient, type TokenVerifier } from '@cinema/auth';
import type { Logger } from '@cinema/logging';
import { errorPage, viewContext } from './pages';
import * as views from './views';

export const ADMIN_ROLES = PANEL_ROLES;
export const COOKIE = { access: 'ca_access', refresh: 'ca_refresh', csrf: 'ca_csrf' } as const;

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
  /** Only local admin paths are followed after login (no open redirect). */
  safeNext(next: unknown): string;
}

export function adminSession(deps: SessionDeps): AdminSession {
  const session = panelSession({
    ...deps,
    prefix: '/admin',
    cookies: COOKIE,
    home: '/admin/films',
    name: 'admin',
    pages: {
      login: (req, res, state) => views.loginPage(viewContext(req, res), state),
      message: (req, res, title, text) => views.messagePage(viewContext(req, res), title, text),
    },
    onError: errorPage,
  });
  return { ...session, requireAdmin: session.requireRole };
}
