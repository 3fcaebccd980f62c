import type { Express } from 'express';
import { createApp, mountDocs, swaggerCsp } from '@cinema/http';
import { RegisterRoutes } from './generated/routes';
import spec from './generated/swagger.json';
import type { Dependencies } from './wiring';

export function buildApp(deps: Dependencies): Express {
  return createApp({
    name: 'auth',
    logger: deps.logger,
    lifecycle: deps.lifecycle,
    // CORS for the configured origins: browser apps (admin panels, player) call login/refresh.
    corsOrigins: deps.config.CORS_ORIGINS,
    bodyLimit: deps.config.BODY_LIMIT,
    // Only the configured proxies may tell the client's address (limits, login history).
    trustProxy: deps.config.TRUSTED_PROXIES,
    readiness: deps.readiness,
    contentSecurityPolicy: swaggerCsp,
    dependencies: deps,
    routes: (app) => {
      mountDocs(app, spec);
      RegisterRoutes(app);
    },
  });
}
