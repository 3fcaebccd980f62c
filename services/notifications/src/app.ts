import type { Express } from 'express';
import { createApp, mountDocs, swaggerCsp } from '@cinema/http';
import { ADMIN_PREFIX, adminRouter } from './admin/router';
import { RegisterRoutes } from './generated/routes';
import spec from './generated/swagger.json';
import type { Dependencies } from './wiring';

export function buildApp(deps: Dependencies): Express {
  return createApp({
    name: 'notifications',
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
      app.use(
        ADMIN_PREFIX,
        adminRouter({
          campaigns: deps.campaigns,
          templates: deps.templates,
          verifier: deps.verifier,
          auth: deps.authClient,
          logger: deps.logger,
          secureCookies: deps.config.ADMIN_COOKIE_SECURE,
        }),
      );
    },
  });
}
