import type { Express } from 'express';
import { createApp, mountDocs, swaggerCsp } from '@cinema/http';
import { RegisterRoutes } from './generated/routes';
import spec from './generated/swagger.json';
import { PAGE_PREFIX, pageRouter } from './page/router';
import type { Dependencies } from './wiring';

export function buildApp(deps: Dependencies): Express {
  return createApp({
    name: 'ugc-etl',
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
      app.use(PAGE_PREFIX, pageRouter(deps));
    },
  });
}
