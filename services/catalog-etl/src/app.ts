/**
 * The ETL's HTTP server: /healthz, /readyz (PostgreSQL, Elasticsearch), /metrics, the status of
 * the last pass (`GET /api/v1/etl/status`) and its spec at /openapi.json and /docs.
 */
import type { Express } from 'express';
import { createApp, mountDocs, swaggerCsp } from '@cinema/http';
import { RegisterRoutes } from './generated/routes';
import spec from './generated/swagger.json';
import type { Dependencies } from './wiring';

export function buildApp(deps: Dependencies): Express {
  return createApp({
    name: 'catalog-etl',
    logger: deps.logger,
    lifecycle: deps.lifecycle,
    readiness: deps.readiness,
    registry: deps.registry,
    contentSecurityPolicy: swaggerCsp,
    dependencies: deps,
    routes: (app) => {
      mountDocs(app, spec);
      RegisterRoutes(app);
    },
  });
}
