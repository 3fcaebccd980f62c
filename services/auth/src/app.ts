import type { Express } from 'express';
import {
  createApp,
  mountDocs,
  swaggerCsp,
  type Lifecycle,
  type ReadinessCheck,
} from '@cinema/http';
import type { Logger } from '@cinema/logging';
import type { Config } from './config';
import { RegisterRoutes } from './generated/routes';
import spec from './generated/swagger.json';

export interface AppDeps {
  config: Readonly<Config>;
  logger: Logger;
  lifecycle?: Lifecycle;
  readiness: Record<string, ReadinessCheck>;
}

export function buildApp(deps: AppDeps): Express {
  return createApp({
    name: 'auth',
    logger: deps.logger,
    lifecycle: deps.lifecycle,
    corsOrigins: deps.config.CORS_ORIGINS,
    bodyLimit: deps.config.BODY_LIMIT,
    readiness: deps.readiness,
    contentSecurityPolicy: swaggerCsp,
    routes: (app) => {
      mountDocs(app, spec);
      RegisterRoutes(app);
    },
  });
}
