/**
 * The Express app every service uses: security headers, CORS, body limits, request ids, access
 * logs, metrics, health and readiness, the service's routes, a problem+json 404 and one error
 * handler that maps tsoa validation errors and named domain errors to statuses.
 */
import { AsyncResource } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { trace } from '@opentelemetry/api';
import { ValidateError } from '@tsoa/runtime';
import cors from 'cors';
import express, {
  type ErrorRequestHandler,
  type Express,
  type Request,
  type Response,
} from 'express';
import helmet from 'helmet';
import * as client from 'prom-client';
import { requestContext, type Logger } from '@cinema/logging';
import { traceIncomingRequests } from '@cinema/telemetry';
import {
  DomainError,
  TooManyRequestsError,
  ServiceUnavailableError,
  ValidationError,
  type ProblemDetails,
} from './errors';
import { logAccess, requestIdOf } from './request-log';
import { provideDependencies } from './ioc';
import { closeServerGracefully, Lifecycle } from './lifecycle';

export type ReadinessCheck = () => Promise<unknown>;

export interface AppOptions {
  /** Service name, used in metrics labels. */
  name: string;
  logger: Logger;
  /** Origins allowed by CORS ('*' for any); none by default. */
  corsOrigins?: readonly string[];
  /** Max JSON/urlencoded body size, e.g. '100kb'. */
  bodyLimit?: string;
  /**
   * The dependencies the service needs to serve: `/readyz` runs each check (bounded by 2 s) and
   * answers 503 naming the failing ones.
   */
  readiness?: Record<string, ReadinessCheck>;
  /** Mounts the service's routes (tsoa's RegisterRoutes, static pages, ...). */
  routes: (app: Express) => void;
  /**
   * The dependencies object `wiring.ts` built; controllers get it by constructor through tsoa's
   * IoC module (`iocContainer`), the auth hook reads its `verifier`.
   */
  dependencies?: object;
  /** Lets `/readyz` answer 503 while shutting down. */
  lifecycle?: Lifecycle;
  /** Metric registry; a fresh one by default so several apps can live in one process (tests). */
  registry?: client.Registry;
  /**
   * Paths whose successful answers get no access-log line (hot endpoints such as event intake);
   * their 4xx and 5xx answers are still logged.
   */
  quietPaths?: ReadonlySet<string>;
  /**
   * Express `trust proxy`: who may tell the client's address in X-Forwarded-For (`req.ip`), a
   * hop count or a list of addresses, CIDR ranges and the names loopback, linklocal,
   * uniquelocal. Default: loopback, link-local and private addresses.
   */
  trustProxy?: number | readonly string[];
  /** Content-Security-Policy override for services that serve pages. */
  contentSecurityPolicy?: Parameters<typeof helmet>[0] extends infer O
    ? O extends { contentSecurityPolicy?: infer C }
      ? C
      : never
    : never;
}

export function problem(res: Response, body: ProblemDetails): void {
  if (body.retryAfter !== undefined) res.setHeader('Retry-After', String(body.retryAfter));
  res.status(body.status).type('application/problem+json').send(JSON.stringify(body));
}

export function createApp(options: AppOptions): Express {
  const app = express();
  const { logger } = options;
  const registry = options.registry ?? new client.Registry();
  client.collectDefaultMetrics({ register: registry });
  const duration = new client.Histogram({
    name: 'http_server_request_duration_seconds',
    help: 'Duration of HTTP requests by method, route and status',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  if (options.dependencies) {
    provideDependencies(app, options.dependencies);
    // Dependencies that keep metrics of their own (the verifier's revocation feed) add them here.
    for (const value of Object.values(options.dependencies)) {
      const register = (value as { registerMetrics?: unknown } | null)?.registerMetrics;
      if (typeof register === 'function') register.call(value, registry);
    }
  }

  app.disable('x-powered-by');
  app.set(
    'trust proxy',
    typeof options.trustProxy === 'number'
      ? options.trustProxy
      : options.trustProxy
        ? [...options.trustProxy]
        : 'loopback, linklocal, uniquelocal',
  );
  app.set('etag', false);

  // The request's server span (when the OpenTelemetry SDK runs; a no-op span otherwise).
  app.use(traceIncomingRequests({ bindRequestEvents: false }));
  // Request id: accepted when well-formed, generated otherwise; on the answer, spans and logs.
  app.use((req, res, next) => {
    const requestId = requestIdOf(req);
    res.setHeader('X-Request-Id', requestId);
    (req as Request & { id: string }).id = requestId;
    // The server span (traceIncomingRequests, first below) gets the request id.
    trace.getActiveSpan()?.setAttribute('http.request_id', requestId);
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const route =
        (req.route?.path as string | undefined) ??
        (res.statusCode === 404 ? 'unmatched' : req.path);
      duration.observe(
        { method: req.method, route: `${req.baseUrl}${route}`, status: String(res.statusCode) },
        Number(process.hrtime.bigint() - started) / 1e9,
      );
    });
    // The store also holds the server span's context (one async storage for both).
    requestContext.run({ ...requestContext.getStore(), requestId }, () => {
      // The request's events (body `data`, `end`) come from the connection's parser, outside
      // this async context when the body arrives after a listener was added (large or slow
      // bodies): replayed in a scope made here, they keep the request id and the server span
      // for everything after body parsing.
      const scope = new AsyncResource('http.request');
      const emit = req.emit;
      req.emit = function (this: Request, ...args: Parameters<Request['emit']>) {
        return scope.runInAsyncScope(emit, this, ...args);
      } as Request['emit'];
      next();
    });
  });

  // Probes and metrics are answered before logging, CORS and parsing.
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    if (options.lifecycle?.shuttingDown) {
      problem(res, {
        type: 'about:blank',
        title: 'Service Unavailable',
        status: 503,
        detail: 'shutting down',
      });
      return;
    }
    const checks = Object.entries(options.readiness ?? {});
    const results = await Promise.all(
      checks.map(async ([name, check]) => {
        let timer: NodeJS.Timeout | undefined;
        try {
          const value = await Promise.race([
            check(),
            new Promise((_, reject) => {
              timer = setTimeout(() => reject(new Error('timed out after 2 s')), 2000);
            }),
          ]);
          // A check may say more than "up" (e.g. "revocation feed not configured"): { detail }.
          const detail = (value as { detail?: unknown } | undefined)?.detail;
          return [
            name,
            detail === undefined ? { status: 'up' } : { status: 'up', detail },
          ] as const;
        } catch (err) {
          return [name, { status: 'down', error: (err as Error).message }] as const;
        } finally {
          clearTimeout(timer);
        }
      }),
    );
    const failing = results.filter(([, r]) => r.status === 'down').map(([n]) => n);
    const checksBody = Object.fromEntries(results);
    if (failing.length) {
      logger.warn({ failing }, 'not ready');
      res
        .status(503)
        .type('application/problem+json')
        .send(
          JSON.stringify({
            type: 'about:blank',
            title: 'Service Unavailable',
            status: 503,
            detail: `not ready: ${failing.join(', ')}`,
            checks: checksBody,
          }),
        );
      return;
    }
    res.json({ status: 'up', checks: checksBody });
  });
  app.get('/metrics', async (_req, res) => {
    res.type(registry.contentType).send(await registry.metrics());
  });

  // Access log: one line when the answer is sent, on the service's logger (the request and trace
  // ids come from the async context). No headers: they may carry credentials. Successful answers
  // on `quietPaths` are not logged.
  app.use((req, res, next) => {
    const started = process.hrtime.bigint();
    // The request's async context (request and trace ids) for the line written at 'finish'. A
    // plain AsyncResource: AsyncResource.bind costs two deprecation wrappers on every request.
    const scope = new AsyncResource('http.access-log');
    res.on('finish', () => {
      const status = res.statusCode;
      if (status < 400 && options.quietPaths?.has(req.path)) return;
      if (!logger.isLevelEnabled(status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info')) return;
      const ms = Math.round(Number(process.hrtime.bigint() - started) / 1e6);
      scope.runInAsyncScope(() => logAccess(logger, req, req.originalUrl, status, ms));
    });
    next();
  });
  const security = helmet(
    options.contentSecurityPolicy !== undefined
      ? { contentSecurityPolicy: options.contentSecurityPolicy }
      : undefined,
  );
  app.use(security);
  const origins = options.corsOrigins ?? [];
  const corsHeaders = cors({
    origin: origins.includes('*') ? true : [...origins],
    credentials: !origins.includes('*'),
    exposedHeaders: ['X-Request-Id', 'Retry-After'],
  });
  app.use(corsHeaders);
  app.use(express.json({ limit: options.bodyLimit ?? '100kb' }));
  app.use(express.urlencoded({ extended: false, limit: options.bodyLimit ?? '100kb' }));

  options.routes(app);

  app.use((req, res) => {
    problem(res, {
      type: 'about:blank',
      title: 'Not Found',
      status: 404,
      detail: `no route for ${req.method} ${req.path}`,
      instance: req.originalUrl,
    });
  });
  app.use(errorHandler(logger));
  return app;
}

/** Maps every error to a problem+json answer; 5xx carry an errorId that is also logged. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    const instance = req.originalUrl;
    if (err instanceof ValidateError) {
      problem(res, {
        type: 'https://cinema.dev/problems/validation',
        title: 'Unprocessable Content',
        status: 422,
        detail: `invalid ${Object.keys(err.fields).join(', ') || 'request'}`,
        instance,
        errors: Object.fromEntries(
          Object.entries(err.fields).map(([field, f]) => [
            field,
            { message: f.message, value: f.value },
          ]),
        ),
      });
      return;
    }
    if (err instanceof DomainError) {
      const body: ProblemDetails = {
        type: err.type,
        title: err.title,
        status: err.status,
        detail: err.message || undefined,
        instance,
        ...err.extra,
      };
      if (err instanceof ValidationError && Object.keys(err.fields).length)
        body.errors = err.fields;
      if (err instanceof TooManyRequestsError || err instanceof ServiceUnavailableError) {
        body.retryAfter = err.retryAfterSeconds;
      }
      if (err.status >= 500) {
        body.errorId = randomUUID();
        logger.error({ err, errorId: body.errorId }, err.message);
      }
      problem(res, body);
      return;
    }
    // Errors raised by body-parser carry an HTTP status and a type.
    const httpErr = err as {
      status?: number;
      statusCode?: number;
      type?: string;
      expose?: boolean;
    };
    const status = httpErr.status ?? httpErr.statusCode;
    if (status && status >= 400 && status < 500) {
      const detail =
        httpErr.type === 'entity.parse.failed'
          ? 'the body is not valid JSON'
          : httpErr.type === 'entity.too.large'
            ? 'the body is larger than the service accepts'
            : httpErr.expose
              ? (err as Error).message
              : undefined;
      problem(res, { type: 'about:blank', title: statusTitle(status), status, detail, instance });
      return;
    }
    const errorId = randomUUID();
    logger.error({ err, errorId }, 'unhandled error');
    problem(res, {
      type: 'about:blank',
      title: 'Internal Server Error',
      status: 500,
      detail: 'an unexpected error occurred; quote the errorId when reporting it',
      instance,
      errorId,
    });
  };
}

function statusTitle(status: number): string {
  const titles: Record<number, string> = {
    400: 'Bad Request',
    401: 'Unauthorized',
    403: 'Forbidden',
    404: 'Not Found',
    405: 'Method Not Allowed',
    409: 'Conflict',
    413: 'Content Too Large',
    415: 'Unsupported Media Type',
    422: 'Unprocessable Content',
    429: 'Too Many Requests',
  };
  return titles[status] ?? 'Bad Request';
}

/**
 * Listens and wires graceful shutdown: the server is closed first, then the adapters registered
 * on the lifecycle, in reverse order.
 */
export async function listen(
  app: Express,
  options: { port: number; host?: string; lifecycle: Lifecycle; logger: Logger; name: string },
): Promise<Server> {
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(options.port, options.host ?? '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
  // Keep-alive longer than a typical load balancer's idle timeout.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  options.lifecycle.onShutdown('http-server', closeServerGracefully(server));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  // ECS names: a plain `host` would clash with ECS's `host` object in Elasticsearch.
  options.logger.info(
    { 'server.address': options.host ?? '127.0.0.1', 'server.port': port },
    `${options.name} listening`,
  );
  return server;
}
