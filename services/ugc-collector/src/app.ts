import * as path from 'node:path';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { BadRequestError, createApp, mountDocs } from '@cinema/http';
import { RegisterRoutes } from './generated/routes';
import spec from './generated/swagger.json';
import type { Dependencies } from './wiring';

/** The player page and its media (two renditions of the test clip). */
export const PUBLIC_DIR = path.join(__dirname, '..', 'public');

/** The event endpoints are the hot path: no access-log line per request for them. */
const HOT_PATHS = new Set(['/api/pause', '/api/full-view', '/api/quality-change', '/api/events']);

/** Player page: self-hosted script, style and media only. */
const playerCsp = {
  directives: {
    defaultSrc: ["'self'"],
    scriptSrc: ["'self'", "'unsafe-inline'"],
    styleSrc: ["'self'", "'unsafe-inline'"],
    imgSrc: ["'self'", 'data:'],
    mediaSrc: ["'self'"],
  },
};

/** `navigator.sendBeacon` posts `text/plain`: parse it as the JSON it holds. */
function beaconBody(limit: string) {
  const text = express.text({ type: 'text/plain', limit });
  return [
    text,
    (req: Request, _res: Response, next: NextFunction) => {
      if (typeof req.body === 'string') {
        try {
          req.body = JSON.parse(req.body);
        } catch {
          next(new BadRequestError('the body is not valid JSON'));
          return;
        }
      }
      next();
    },
  ];
}

export function buildApp(deps: Dependencies): Express {
  return createApp({
    name: 'ugc-collector',
    logger: deps.logger,
    lifecycle: deps.lifecycle,
    corsOrigins: deps.config.CORS_ORIGINS,
    bodyLimit: deps.config.BODY_LIMIT,
    readiness: deps.readiness,
    contentSecurityPolicy: playerCsp,
    quietPaths: HOT_PATHS,
    dependencies: deps,
    routes: (app) => {
      mountDocs(app, spec);
      app.post('/api/events', ...beaconBody(deps.config.BODY_LIMIT));
      RegisterRoutes(app);
      app.get('/', (_req, res) => res.redirect('/player/'));
      app.use(
        '/player',
        express.static(PUBLIC_DIR, { index: 'index.html', maxAge: '1h', fallthrough: true }),
      );
    },
  });
}
