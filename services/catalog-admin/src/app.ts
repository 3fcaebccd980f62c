import type { Express } from 'express';
import type { TokenVerifier } from '@cinema/auth';
import {
  createApp,
  mountDocs,
  swaggerCsp,
  type Lifecycle,
  type ReadinessCheck,
} from '@cinema/http';
import type { Logger } from '@cinema/logging';
import type { AuthClient } from './adapters/auth.client';
import type { CatalogRepository } from './adapters/catalog.repository';
import { adminRouter } from './admin/router';
import type { ControllerDeps } from './api/ioc';
import type { Config } from './config';
import { RegisterRoutes } from './generated/routes';
import spec from './generated/swagger.json';

export interface AppDeps {
  config: Readonly<Pick<Config, 'CORS_ORIGINS' | 'BODY_LIMIT' | 'ADMIN_COOKIE_SECURE'>>;
  logger: Logger;
  lifecycle?: Lifecycle;
  readiness: Record<string, ReadinessCheck>;
  catalog: CatalogRepository;
  verifier: TokenVerifier;
  auth: AuthClient;
}

export function buildApp(deps: AppDeps): Express {
  return createApp({
    name: 'catalog-admin',
    logger: deps.logger,
    lifecycle: deps.lifecycle,
    corsOrigins: deps.config.CORS_ORIGINS,
    bodyLimit: deps.config.BODY_LIMIT,
    readiness: deps.readiness,
    contentSecurityPolicy: swaggerCsp,
    routes: (app) => {
      app.locals.deps = { catalog: deps.catalog } satisfies ControllerDeps;
      app.locals.verifier = deps.verifier;
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
        }),
      );
    },
  });
}
