/**
 * The admin web UI under /admin: server-rendered pages to list, search, create, edit and delete
 * films, genres and persons and to attach genres and persons (with roles) to films.
 *
 *   session.routes.ts  CSRF on every form, login through the auth service, the admin role gate
 *   films.routes.ts    films and their genre and person links
 *   genres.routes.ts   genres
 *   persons.routes.ts  persons
 *   ops.routes.ts      the ops pages: traces (Jaeger) and logs (Elasticsearch) of the platform
 *
 * Every page reads and writes through the CatalogService (src/domain), as the movies API does.
 */
import cookieParser from 'cookie-parser';
import { Router } from 'express';
import type { TokenVerifier } from '@cinema/auth';
import type { Logger } from '@cinema/logging';
import type { AuthClient } from '@cinema/auth';
import type { CatalogService } from '../domain/catalog.service';
import { filmsRoutes } from './films.routes';
import { genresRoutes } from './genres.routes';
import { opsRoutes } from './ops.routes';
import type { LogQuery, TraceQuery } from '../domain/ops';
import { sendPage, viewContext } from './pages';
import { personsRoutes } from './persons.routes';
import { adminSession } from './session.routes';
import * as views from './views';

export { ADMIN_ROLES, COOKIE } from './session.routes';

export interface AdminDeps {
  catalog: CatalogService;
  verifier: TokenVerifier;
  auth: AuthClient;
  logger: Logger;
  secureCookies: boolean;
  /** The ops pages' sources (unset: those pages say what is not configured). */
  traces?: TraceQuery;
  logs?: LogQuery;
}

export function adminRouter(deps: AdminDeps): Router {
  const router = Router();
  const session = adminSession(deps);

  router.use(cookieParser());
  router.use((_req, res, next) => {
    // Admin pages are per-user: never cached, never framed.
    res.setHeader('Cache-Control', 'no-store');
    next();
  });
  router.use(session.csrf);
  router.use(session.routes);

  // Everything else needs an admin.
  router.use(session.requireAdmin);
  router.get('/', (_req, res) => res.redirect(303, '/admin/films'));
  router.use(filmsRoutes(deps));
  router.use(genresRoutes(deps));
  router.use(personsRoutes(deps));
  router.use(opsRoutes(deps));

  // Unknown admin paths: an HTML 404 for the signed-in editor.
  router.use((req, res) => {
    sendPage(
      res,
      404,
      views.messagePage(viewContext(req, res), 'Not Found', 'There is no such page.'),
    );
  });

  return router;
}
