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
import type { Config } from './config';
import type { AnalyticsReader } from './domain/analytics';
import { RegisterRoutes } from './generated/routes';
import spec from './generated/swagger.json';

export interface AppDeps {
  config: Pick<Config, 'CORS_ORIGINS' | 'BODY_LIMIT'>;
  logger: Logger;
  analytics: AnalyticsReader;
  /** Verifies analysts' access tokens; without it the read API answers 401. */
  verifier?: TokenVerifier;
  lifecycle?: Lifecycle;
  readiness: Record<string, ReadinessCheck>;
}

export function buildApp(deps: AppDeps): Express {
  return createApp({
    name: 'ugc-etl',
    logger: deps.logger,
    lifecycle: deps.lifecycle,
    corsOrigins: deps.config.CORS_ORIGINS,
    bodyLimit: deps.config.BODY_LIMIT,
    readiness: deps.readiness,
    contentSecurityPolicy: swaggerCsp,
    routes: (app) => {
      app.locals.analytics = deps.analytics;
      app.locals.verifier = deps.verifier;
      mountDocs(app, spec);
      RegisterRoutes(app);
    },
  });
}
