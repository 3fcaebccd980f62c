/** The ETL's HTTP server: /healthz, /readyz (PostgreSQL, Elasticsearch) and /metrics only. */
import type { Express } from 'express';
import type * as client from 'prom-client';
import { createApp, type Lifecycle, type ReadinessCheck } from '@cinema/http';
import type { Logger } from '@cinema/logging';

export interface AppDeps {
  logger: Logger;
  lifecycle?: Lifecycle;
  readiness: Record<string, ReadinessCheck>;
  registry?: client.Registry;
}

export function buildApp(deps: AppDeps): Express {
  return createApp({
    name: 'catalog-etl',
    logger: deps.logger,
    lifecycle: deps.lifecycle,
    readiness: deps.readiness,
    registry: deps.registry,
    routes: () => undefined,
  });
}
