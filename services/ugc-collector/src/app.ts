import * as path from 'node:path';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import type * as client from 'prom-client';
import {
  BadRequestError,
  createApp,
  mountDocs,
  withFastPath,
  type Lifecycle,
  type ReadinessCheck,
} from '@cinema/http';
import type { Logger } from '@cinema/logging';
import type { CollectorLocals } from './api/EventsController';
import { createFastIntake } from './api/fast-intake';
import type { Config } from './config';
import type { EventIntake } from './domain/intake';
import { RegisterRoutes } from './generated/routes';
import spec from './generated/swagger.json';

export interface AppDeps {
  config: Pick<Config, 'CORS_ORIGINS' | 'BODY_LIMIT' | 'BATCH_MAX_EVENTS'>;
  logger: Logger;
  intake: EventIntake;
  lifecycle?: Lifecycle;
  readiness: Record<string, ReadinessCheck>;
}

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

/** `100kb`, `1mb`, `512b` (the forms BODY_LIMIT accepts) in bytes. */
export function limitBytes(limit: string): number {
  const m = /^(\d+)(b|kb|mb)$/i.exec(limit);
  if (!m) throw new Error(`not a size: ${limit}`);
  const unit = m[2]!.toLowerCase();
  return Number(m[1]) * (unit === 'mb' ? 1024 * 1024 : unit === 'kb' ? 1024 : 1);
}

export function buildApp(deps: AppDeps): Express {
  const locals: CollectorLocals = {
    intake: deps.intake,
    batchMaxEvents: deps.config.BATCH_MAX_EVENTS,
  };
  const app = createApp({
    name: 'ugc-collector',
    logger: deps.logger,
    lifecycle: deps.lifecycle,
    corsOrigins: deps.config.CORS_ORIGINS,
    bodyLimit: deps.config.BODY_LIMIT,
    readiness: deps.readiness,
    contentSecurityPolicy: playerCsp,
    quietPaths: HOT_PATHS,
    routes: (app) => {
      app.locals.collector = locals;
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
  // The event endpoints' success path, ahead of Express's per-request work (see fast-intake.ts).
  const fast = createFastIntake({
    intake: deps.intake,
    logger: deps.logger,
    batchMaxEvents: deps.config.BATCH_MAX_EVENTS,
    bodyLimitBytes: limitBytes(deps.config.BODY_LIMIT),
    corsOrigins: deps.config.CORS_ORIGINS,
    staticHeaders: app.locals.staticHeaders as Array<[string, string]>,
    registry: app.locals.registry as client.Registry,
  });
  return withFastPath(app, fast);
}
