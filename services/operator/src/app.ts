import type { Express } from 'express';
import { createApp } from '@cinema/http';
import type { Dependencies } from './wiring';

/** Only the probes and metrics: the operator's interface is the CinemaPlatform resource. */
export function buildApp(deps: Dependencies): Express {
  return createApp({
    name: 'operator',
    logger: deps.logger,
    lifecycle: deps.lifecycle,
    corsOrigins: deps.config.CORS_ORIGINS,
    bodyLimit: deps.config.BODY_LIMIT,
    readiness: deps.readiness,
    dependencies: deps,
    routes: () => undefined,
  });
}
