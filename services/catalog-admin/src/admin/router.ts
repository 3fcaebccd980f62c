/**
 * The admin web UI under /admin: server-rendered pages to list, search, create, edit and delete
 * films, genres and persons and to attach genres and persons (with roles) to films.
 *
 * Login posts the form to the auth service's login API; the access token (and the refresh token)
 * are kept in httpOnly, SameSite=Strict cookies and verified on every request against the auth
 * JWKS; only `admin` and `super_user` get in. Every POST carries a CSRF token (double submit: a
 * random httpOnly cookie and the same value in a hidden form field).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import cookieParser from 'cookie-parser';
import {
  Router,
  type CookieOptions,
  type NextFunction,
  type Request,
  type Response,
} from 'express';
import type { Principal, TokenVerifier } from '@cinema/auth';
import { DomainError, UnauthorizedError, ValidationError } from '@cinema/http';
import type { Logger } from '@cinema/logging';
import type { AuthClient } from '../adapters/auth.client';
import type { CatalogRepository } from '../adapters/catalog.repository';
import {
  parseFilmInput,
  parseGenreInput,
  parsePageNumber,
  parsePersonInput,
  parseRole,
  parseSearch,
} from '../domain/catalog';
import * as views from './views';

export const ADMIN_ROLES = ['admin', 'super_user'];
export const COOKIE = { access: 'ca_access', refresh: 'ca_refresh', csrf: 'ca_csrf' } as const;
const PAGE_SIZE = 50;

export interface AdminDeps {
  catalog: CatalogRepository;
  verifier: TokenVerifier;
  auth: AuthClient;
  logger: Logger;
  secureCookies: boolean;
}

type Handler = (req: Request, res: Response) => Promise<void>;

const body = (req: Request): Record<string, unknown> =>
  req.body && typeof req.body === 'object' ? (req.body as Record<string, unknown>) : {};
const field = (req: Request, name: string): string => {
  const v = body(req)[name];
  return typeof v === 'string' ? v : '';
};
const param = (req: Request, name: string): string => String(req.params[name] ?? '');

/** Only local admin paths are followed after login (no open redirect). */
const safeNext = (next: unknown): string =>
  typeof next === 'string' && /^\/admin(\/[\w\-/?=&%.]*)?$/.test(next) && !next.startsWith('//')
    ? next
    : '/admin/films';

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}

export function adminRouter(deps: AdminDeps): Router {
  const router = Router();
  const { catalog } = deps;
  const cookieBase: CookieOptions = {
    httpOnly: true,
    sameSite: 'strict',
    secure: deps.secureCookies,
    path: '/admin',
  };

  router.use(cookieParser());
  router.use((_req, res, next) => {
    // Admin pages are per-user: never cached, never framed.
    res.setHeader('Cache-Control', 'no-store');
    next();
  });

  // CSRF: a random token per browser, in an httpOnly cookie and in every form.
  router.use((req, res, next) => {
    let token = req.cookies?.[COOKIE.csrf] as string | undefined;
    if (!token || !/^[\w-]{43}$/.test(token)) {
      token = randomBytes(32).toString('base64url');
      res.cookie(COOKIE.csrf, token, cookieBase);
    }
    res.locals.csrf = token;
    if (req.method === 'POST' && !sameToken(field(req, '_csrf'), token)) {
      res
        .status(403)
        .type('html')
        .send(
          views.messagePage(
            { csrf: token },
            'Forbidden',
            'The form expired or did not come from this site. Reload the page and try again.',
          ),
        );
      return;
    }
    next();
  });

  const ctx = (req: Request, res: Response): views.ViewContext => {
    const user = res.locals.principal as Principal | undefined;
    const notice = typeof req.query.notice === 'string' ? req.query.notice : undefined;
    return {
      csrf: res.locals.csrf as string,
      user: user && { id: user.id, email: user.email, roles: user.roles },
      notice,
    };
  };

  const page = (res: Response, status: number, markup: string) => {
    res.status(status).type('html').send(markup);
  };

  const handle =
    (fn: Handler) =>
    (req: Request, res: Response, next: NextFunction): void => {
      fn(req, res).catch((err: unknown) => {
        if (err instanceof UnauthorizedError) {
          res.redirect(303, `/admin/login?next=${encodeURIComponent(req.originalUrl)}`);
          return;
        }
        if (err instanceof DomainError && err.status < 500) {
          page(res, err.status, views.messagePage(ctx(req, res), err.title, err.message));
          return;
        }
        if (err instanceof DomainError) {
          res.setHeader('Retry-After', '5');
          deps.logger.warn({ err }, 'admin page failed');
          page(res, err.status, views.messagePage(ctx(req, res), err.title, err.message));
          return;
        }
        next(err);
      });
    };

  const setTokens = (res: Response, tokens: { accessToken: string; refreshToken?: string }) => {
    res.cookie(COOKIE.access, tokens.accessToken, cookieBase);
    if (tokens.refreshToken) res.cookie(COOKIE.refresh, tokens.refreshToken, cookieBase);
  };
  const clearTokens = (res: Response) => {
    res.clearCookie(COOKIE.access, cookieBase);
    res.clearCookie(COOKIE.refresh, cookieBase);
  };

  /* Login and logout */

  router.get(
    '/login',
    handle(async (req, res) => {
      page(res, 200, views.loginPage(ctx(req, res), { next: safeNext(req.query.next) }));
    }),
  );

  router.post(
    '/login',
    handle(async (req, res) => {
      const email = field(req, 'email').trim().slice(0, 320);
      const password = field(req, 'password');
      const next = safeNext(field(req, 'next'));
      const again = (status: number, error: string) =>
        page(res, status, views.loginPage(ctx(req, res), { email, error, next }));
      if (!email || !password) return again(422, 'Enter your e-mail and password.');
      let principal: Principal;
      let tokens;
      try {
        tokens = await deps.auth.login(email, password.slice(0, 1024));
        principal = await deps.verifier(tokens.accessToken);
      } catch (err) {
        if (err instanceof UnauthorizedError) return again(401, err.message);
        if (err instanceof DomainError) return again(err.status, err.message);
        throw err;
      }
      if (!principal.roles.some((r) => ADMIN_ROLES.includes(r))) {
        deps.logger.warn({ userId: principal.id }, 'admin login refused: role');
        return again(403, 'This account has neither the admin nor the super_user role.');
      }
      setTokens(res, tokens);
      deps.logger.info({ userId: principal.id }, 'admin login');
      res.redirect(303, next);
    }),
  );

  router.post('/logout', (_req, res) => {
    clearTokens(res);
    res.redirect(303, '/admin/login');
  });

  /* Everything else needs an admin. */

  /** Resolves the signed-in admin, refreshing an expired access token; false when answered. */
  const gate = async (req: Request, res: Response): Promise<boolean> => {
    const token = req.cookies?.[COOKIE.access] as string | undefined;
    let principal: Principal | undefined;
    if (token) {
      try {
        principal = await deps.verifier(token);
      } catch (err) {
        if (!(err instanceof UnauthorizedError)) throw err;
      }
    }
    const refreshToken = req.cookies?.[COOKIE.refresh] as string | undefined;
    if (!principal && refreshToken) {
      try {
        const tokens = await deps.auth.refresh(refreshToken);
        principal = await deps.verifier(tokens.accessToken);
        setTokens(res, tokens);
      } catch (err) {
        if (!(err instanceof UnauthorizedError)) throw err;
      }
    }
    if (!principal) {
      clearTokens(res);
      const next = req.method === 'GET' ? `?next=${encodeURIComponent(req.originalUrl)}` : '';
      res.redirect(303, `/admin/login${next}`);
      return false;
    }
    res.locals.principal = principal;
    if (!principal.roles.some((r) => ADMIN_ROLES.includes(r))) {
      page(
        res,
        403,
        views.messagePage(
          ctx(req, res),
          'Forbidden',
          'This account has neither the admin nor the super_user role.',
        ),
      );
      return false;
    }
    return true;
  };
  router.use((req, res, next) => {
    gate(req, res).then(
      (ok) => {
        if (ok) next();
      },
      (err: unknown) => {
        if (err instanceof DomainError) {
          page(res, err.status, views.messagePage(ctx(req, res), err.title, err.message));
        } else next(err);
      },
    );
  });

  router.get('/', (_req, res) => res.redirect(303, '/admin/films'));

  /* Films */

  router.get(
    '/films',
    handle(async (req, res) => {
      const q = parseSearch(req.query.q);
      const films = await catalog.listFilms({
        q,
        page: parsePageNumber(req.query.page),
        pageSize: PAGE_SIZE,
      });
      page(res, 200, views.filmsPage(ctx(req, res), films, q));
    }),
  );

  router.get(
    '/films/new',
    handle(async (req, res) => {
      page(res, 200, views.filmForm(ctx(req, res), { values: { type: 'movie' } }));
    }),
  );

  router.post(
    '/films',
    handle(async (req, res) => {
      try {
        const id = await catalog.createFilm(parseFilmInput(body(req)));
        res.redirect(303, `/admin/films/${id}?notice=created`);
      } catch (err) {
        if (!(err instanceof ValidationError)) throw err;
        page(
          res,
          422,
          views.filmForm(ctx(req, res), {
            values: body(req),
            errors: err.fields,
            message: err.message,
          }),
        );
      }
    }),
  );

  const filmPage = async (
    req: Request,
    res: Response,
    status = 200,
    extra: {
      values?: Record<string, unknown>;
      errors?: ValidationError['fields'];
      message?: string;
      linkError?: string;
    } = {},
  ) => {
    const film = await catalog.getFilm(param(req, 'id'));
    const genres = await catalog.allGenres();
    page(
      res,
      status,
      views.filmForm(ctx(req, res), { film, genres, values: extra.values ?? film, ...extra }),
    );
  };

  router.get(
    '/films/:id',
    handle(async (req, res) => filmPage(req, res)),
  );

  router.post(
    '/films/:id',
    handle(async (req, res) => {
      try {
        await catalog.updateFilm(param(req, 'id'), parseFilmInput(body(req)));
        res.redirect(303, `/admin/films/${param(req, 'id')}?notice=saved`);
      } catch (err) {
        if (!(err instanceof ValidationError)) throw err;
        await filmPage(req, res, 422, {
          values: body(req),
          errors: err.fields,
          message: err.message,
        });
      }
    }),
  );

  router.post(
    '/films/:id/delete',
    handle(async (req, res) => {
      await catalog.deleteFilm(param(req, 'id'));
      res.redirect(303, '/admin/films?notice=deleted');
    }),
  );

  /** A link change that fails for the editor's reason re-renders the film with the reason. */
  const linkAction =
    (fn: (req: Request) => Promise<void>, notice: string): Handler =>
    async (req, res) => {
      try {
        await fn(req);
        res.redirect(303, `/admin/films/${param(req, 'id')}?notice=${notice}`);
      } catch (err) {
        if (!(err instanceof DomainError) || err.status >= 500 || err.status === 401) throw err;
        // The film itself missing is a plain 404 page (thrown again by filmPage).
        await filmPage(req, res, err.status, { linkError: err.message });
      }
    };

  router.post(
    '/films/:id/genres',
    handle(
      linkAction(
        (req) => catalog.addGenreToFilm(param(req, 'id'), field(req, 'genreId')),
        'genre-added',
      ),
    ),
  );
  router.post(
    '/films/:id/genres/:genreId/delete',
    handle(
      linkAction(
        (req) => catalog.removeGenreFromFilm(param(req, 'id'), param(req, 'genreId')),
        'genre-removed',
      ),
    ),
  );
  router.post(
    '/films/:id/persons',
    handle(
      linkAction(async (req) => {
        const role = parseRole(field(req, 'role'));
        const text = field(req, 'person').trim().slice(0, 300);
        if (!text) throw new ValidationError("enter a person's full name or id");
        const found = await catalog.findPersons(text);
        if (!found.length) {
          throw new ValidationError(`no person named "${text}"; create the person first`);
        }
        if (found.length > 1) {
          throw new ValidationError(
            `${found.length} persons are named "${text}"; enter the id of the one you mean (${found
              .map((p) => p.id)
              .join(', ')})`,
          );
        }
        await catalog.addPersonToFilm(param(req, 'id'), found[0]!.id, role);
      }, 'person-added'),
    ),
  );
  router.post(
    '/films/:id/persons/:linkId/delete',
    handle(
      linkAction(
        (req) => catalog.removePersonLink(param(req, 'id'), param(req, 'linkId')),
        'person-removed',
      ),
    ),
  );

  /* Genres */

  router.get(
    '/genres',
    handle(async (req, res) => {
      const q = parseSearch(req.query.q);
      const genres = await catalog.listGenres({
        q,
        page: parsePageNumber(req.query.page),
        pageSize: PAGE_SIZE,
      });
      page(res, 200, views.genresPage(ctx(req, res), genres, q));
    }),
  );
  router.get(
    '/genres/new',
    handle(async (req, res) => page(res, 200, views.genreForm(ctx(req, res), { values: {} }))),
  );
  router.post(
    '/genres',
    handle(async (req, res) => {
      try {
        const id = await catalog.createGenre(parseGenreInput(body(req)));
        res.redirect(303, `/admin/genres/${id}?notice=created`);
      } catch (err) {
        if (!(err instanceof DomainError) || (err.status !== 422 && err.status !== 409)) throw err;
        page(
          res,
          err.status,
          views.genreForm(ctx(req, res), {
            values: body(req),
            errors: err instanceof ValidationError ? err.fields : {},
            message: err.message,
          }),
        );
      }
    }),
  );
  router.get(
    '/genres/:id',
    handle(async (req, res) => {
      const genre = await catalog.getGenre(param(req, 'id'));
      page(res, 200, views.genreForm(ctx(req, res), { genre, values: genre }));
    }),
  );
  router.post(
    '/genres/:id',
    handle(async (req, res) => {
      try {
        await catalog.updateGenre(param(req, 'id'), parseGenreInput(body(req)));
        res.redirect(303, `/admin/genres/${param(req, 'id')}?notice=saved`);
      } catch (err) {
        if (!(err instanceof DomainError) || (err.status !== 422 && err.status !== 409)) throw err;
        const genre = await catalog.getGenre(param(req, 'id'));
        page(
          res,
          err.status,
          views.genreForm(ctx(req, res), {
            genre,
            values: body(req),
            errors: err instanceof ValidationError ? err.fields : {},
            message: err.message,
          }),
        );
      }
    }),
  );
  router.post(
    '/genres/:id/delete',
    handle(async (req, res) => {
      await catalog.deleteGenre(param(req, 'id'));
      res.redirect(303, '/admin/genres?notice=deleted');
    }),
  );

  /* Persons */

  router.get(
    '/persons',
    handle(async (req, res) => {
      const q = parseSearch(req.query.q);
      const persons = await catalog.listPersons({
        q,
        page: parsePageNumber(req.query.page),
        pageSize: PAGE_SIZE,
      });
      page(res, 200, views.personsPage(ctx(req, res), persons, q));
    }),
  );
  router.get(
    '/persons/new',
    handle(async (req, res) => page(res, 200, views.personForm(ctx(req, res), { values: {} }))),
  );
  router.post(
    '/persons',
    handle(async (req, res) => {
      try {
        const id = await catalog.createPerson(parsePersonInput(body(req)));
        res.redirect(303, `/admin/persons/${id}?notice=created`);
      } catch (err) {
        if (!(err instanceof ValidationError)) throw err;
        page(
          res,
          422,
          views.personForm(ctx(req, res), {
            values: body(req),
            errors: err.fields,
            message: err.message,
          }),
        );
      }
    }),
  );
  router.get(
    '/persons/:id',
    handle(async (req, res) => {
      const person = await catalog.getPerson(param(req, 'id'));
      page(res, 200, views.personForm(ctx(req, res), { person, values: person }));
    }),
  );
  router.post(
    '/persons/:id',
    handle(async (req, res) => {
      try {
        await catalog.updatePerson(param(req, 'id'), parsePersonInput(body(req)));
        res.redirect(303, `/admin/persons/${param(req, 'id')}?notice=saved`);
      } catch (err) {
        if (!(err instanceof ValidationError)) throw err;
        const person = await catalog.getPerson(param(req, 'id'));
        page(
          res,
          422,
          views.personForm(ctx(req, res), {
            person,
            values: body(req),
            errors: err.fields,
            message: err.message,
          }),
        );
      }
    }),
  );
  router.post(
    '/persons/:id/delete',
    handle(async (req, res) => {
      await catalog.deletePerson(param(req, 'id'));
      res.redirect(303, '/admin/persons?notice=deleted');
    }),
  );

  // Unknown admin paths: an HTML 404 for the signed-in editor.
  router.use((req, res) => {
    page(res, 404, views.messagePage(ctx(req, res), 'Not Found', 'There is no such page.'));
  });

  return router;
}
