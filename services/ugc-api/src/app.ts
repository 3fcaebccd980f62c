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
import { VERIFIER_KEY } from './api/authentication';
import type { Config } from './config';
import { RegisterRoutes } from './generated/routes';
import spec from './generated/swagger.json';
import { SERVICES_KEY, type Services } from './ioc';

export interface AppDeps {
  config: Pick<Config, 'CORS_ORIGINS' | 'BODY_LIMIT'>;
  logger: Logger;
  lifecycle?: Lifecycle;
  readiness: Record<string, ReadinessCheck>;
  services: Services;
  verifier: TokenVerifier;
}

export function buildApp(deps: AppDeps): Express {
  return createApp({
    name: 'ugc-api',
    logger: deps.logger,
    lifecycle: deps.lifecycle,
    corsOrigins: deps.config.CORS_ORIGINS,
    bodyLimit: deps.config.BODY_LIMIT,
    readiness: deps.readiness,
    contentSecurityPolicy: swaggerCsp,
    routes: (app) => {
      app.locals[SERVICES_KEY] = deps.services;
      app.locals[VERIFIER_KEY] = deps.verifier;
      mountDocs(app, spec);
      RegisterRoutes(app);
    },
  });
}
