import type { Express, Request, Response } from 'express';
import type * as client from 'prom-client';
import type { Principal, TokenVerifier } from '@cinema/auth';
import {
  createApp,
  mountDocs,
  swaggerCsp,
  type Lifecycle,
  withFastPath,
  type ReadinessCheck,
} from '@cinema/http';
import type { Logger } from '@cinema/logging';
import { serialisedJson } from './answers';
import type { AnswerReplay } from './api/answer-replay';
import { pageViews, ROUTE_ENDPOINTS, stringParams, type PageViewSink } from './api/page-views';
import type { Config } from './config';
import type { CatalogService } from './domain/catalog';
import { RegisterRoutes } from './generated/routes';
import spec from './generated/swagger.json';

export interface AppDeps {
  config: Pick<Config, 'CORS_ORIGINS' | 'BODY_LIMIT'>;
  logger: Logger;
  lifecycle?: Lifecycle;
  readiness: Record<string, ReadinessCheck>;
  registry?: client.Registry;
  catalog: CatalogService;
  tokenVerifier: TokenVerifier;
  pageViews: PageViewSink;
  /** Replays cached answers ahead of Express (answer-replay.ts); none: every request via Express. */
  replay?: AnswerReplay;
}

export function buildApp(deps: AppDeps): Express {
  const app = createApp({
    name: 'catalog-api',
    logger: deps.logger,
    lifecycle: deps.lifecycle,
    corsOrigins: deps.config.CORS_ORIGINS,
    bodyLimit: deps.config.BODY_LIMIT,
    readiness: deps.readiness,
    registry: deps.registry,
    contentSecurityPolicy: swaggerCsp,
    routes: (app) => {
      sendSerialisedAnswers(app, deps.replay);
      app.locals.catalog = deps.catalog;
      app.locals.tokenVerifier = deps.tokenVerifier;
      mountDocs(app, spec);
      app.use('/api/v1', pageViews(deps.pageViews));
      RegisterRoutes(app);
    },
  });
  if (!deps.replay) return app;
  deps.replay.attach(app.locals);
  return withFastPath(app, deps.replay.handle);
}

/**
 * `res.json(answer)` of this app writes the bytes the cache kept for a cached answer as they are
 * (same body and headers as JSON.stringify would give), else serialises as usual.
 */
function sendSerialisedAnswers(app: Express, replay: AnswerReplay | undefined): void {
  const json = app.response.json;
  app.response.json = function (this: Response, body: unknown) {
    const bytes = serialisedJson(body);
    if (!bytes) return json.call(this, body);
    const req = this.req as Request & { user?: Principal };
    const route = (req.route as { path?: string } | undefined)?.path;
    const endpoint = route ? ROUTE_ENDPOINTS[route] : undefined;
    if (replay && endpoint && req.method === 'GET' && this.statusCode === 200 && req.user) {
      replay.remember(req.originalUrl, {
        answer: body as object,
        bytes,
        route: route!,
        endpoint,
        params: stringParams({ ...req.query, ...req.params }),
      });
    }
    if (!this.get('Content-Type')) this.set('Content-Type', 'application/json; charset=utf-8');
    return this.send(bytes);
  } as typeof json;
}
