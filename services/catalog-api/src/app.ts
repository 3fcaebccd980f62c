import type { Express, Response } from 'express';
import { createApp, mountDocs, swaggerCsp } from '@cinema/http';
import type { SerialisedAnswers } from './adapters/cache.repository';
import { pageViews } from './api/page-views';
import { RegisterRoutes } from './generated/routes';
import spec from './generated/swagger.json';
import type { Dependencies } from './wiring';

export function buildApp(deps: Dependencies): Express {
  return createApp({
    name: 'catalog-api',
    logger: deps.logger,
    lifecycle: deps.lifecycle,
    corsOrigins: deps.config.CORS_ORIGINS,
    bodyLimit: deps.config.BODY_LIMIT,
    readiness: deps.readiness,
    registry: deps.registry,
    contentSecurityPolicy: swaggerCsp,
    dependencies: deps,
    routes: (app) => {
      sendSerialisedAnswers(app, deps.answers);
      mountDocs(app, spec);
      app.use('/api/v1', pageViews(deps.pageViews));
      RegisterRoutes(app);
    },
  });
}

/**
 * `res.json(answer)` of this app (what tsoa's routes call) writes the bytes the cache kept with a
 * cached answer as they are: the same body and headers JSON.stringify would give, without
 * serialising and encoding it again on every hit. Anything else is serialised as usual. This is
 * Express's documented way to extend its response for one app (`app.response`, "Overriding the
 * Express API"); the request still goes through every middleware.
 */
function sendSerialisedAnswers(app: Express, answers: SerialisedAnswers): void {
  const json = app.response.json;
  app.response.json = function (this: Response, body: unknown) {
    const bytes = answers.serialised(body);
    if (!bytes) return json.call(this, body);
    if (!this.get('Content-Type')) this.set('Content-Type', 'application/json; charset=utf-8');
    return this.send(bytes);
  } as typeof json;
}
