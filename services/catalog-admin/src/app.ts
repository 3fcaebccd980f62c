import type { Express } from 'express';
import { createApp, mountDocs, swaggerCsp } from '@cinema/http';
import { adminRouter } from './admin/router';
import { RegisterRoutes } from './generated/routes';
import spec from './generated/swagger.json';
import type { Dependencies } from './wiring';

export function buildApp(deps: Dependencies): Express {
  return createApp({
    name: 'catalog-admin',
    logger: deps.logger,
    lifecycle: deps.lifecycle,
    corsOrigins: deps.config.CORS_ORIGINS,
    bodyLimit: deps.config.BODY_LIMIT,
    readiness: deps.readiness,
    contentSecurityPolicy: swaggerCsp,
    dependencies: deps,
    routes: (app) => {
      mountDocs(app, spec);
      RegisterRoutes(app);
      app.get('/', (_req, res) => res.redirect(303, '/admin/films'));
      app.use(
        '/admin',
        adminRouter({
          catalog: deps.catalog,
          verifier: deps.verifier,
          auth: deps.auth,
          logger: deps.logger,
          secureCookies: deps.config.ADMIN_COOKIE_SECURE,
          traces: deps.ops?.traces,
          logs: deps.ops?.logs,
        }),
      );
    },
  });
}
