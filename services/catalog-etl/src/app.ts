/** The ETL's HTTP server: /healthz, /readyz (PostgreSQL, Elasticsearch) and /metrics only. */
import type { Express } from 'express';
import { createApp } from '@cinema/http';
import type { Dependencies } from './wiring';

export function buildApp(deps: Dependencies): Express {
  return createApp({
    name: 'catalog-etl',
    logger: deps.logger,
    lifecycle: deps.lifecycle,
    readiness: deps.readiness,
    registry: deps.registry,
    dependencies: deps,
    routes: () => undefined,
  });
}
