/**
 * The hot path of the event endpoints, served before Express's per-request machinery.
 *
 * Measured on the 2-core machine: an Express 4 app tops out at about 4,000 small POSTs/s even
 * when its first middleware answers (Express re-prototypes `req`/`res` and walks its router for
 * every request), while `node:http` does about 15,000/s. The event endpoints must take 5,000
 * events/s, so the app's `handle` first offers each request to this module:
 *
 * - it takes only the plain case: `POST` to one of the four event paths, `Content-Type:
 *   application/json` (UTF-8), no `Content-Encoding`, a `Content-Length` within the body limit,
 *   no CORS origin that Express would have to answer for;
 * - it validates with a strict subset of the tsoa-generated rules (same patterns, bounds, required
 *   fields, no extra fields). Anything it does not accept as plainly valid (or a viewer problem) is
 *   handed to the Express app with the body already parsed (`req._body`, so body-parser skips
 *   it), where tsoa and the error handler answer exactly as they always did (422 naming the field,
 *   401, ...). The Express routes stay registered and documented by tsoa; this module only
 *   short-cuts their success path;
 * - a valid event is stamped and sent through the same `EventIntake` (202 only after Kafka
 *   acknowledged); Kafka trouble answers the same 503 problem+json with `Retry-After` and an
 *   `errorId` that is also logged.
 *
 * Answers carry `X-Request-Id` (accepted when well-formed, else generated) and the same security
 * headers as the rest of the app; requests are counted in Prometheus metrics.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { trace } from '@opentelemetry/api';
import * as client from 'prom-client';
import { bearerToken } from '@cinema/auth';
import {
  DomainError,
  ServiceUnavailableError,
  requestIdOf,
  type FastHandler,
  type ProblemDetails,
} from '@cinema/http';
import { requestContext, type Logger } from '@cinema/logging';
import { isCalendarDate, type BatchItem, type EventType, type PauseEvent } from '../domain/events';
import type { EventIntake } from '../domain/intake';

export interface FastIntakeOptions {
  intake: EventIntake;
  logger: Logger;
  batchMaxEvents: number;
  /** Largest body in bytes (BODY_LIMIT). */
  bodyLimitBytes: number;
  /** CORS_ORIGINS: requests from these origins go through Express, which answers CORS. */
  corsOrigins: readonly string[];
  /** Headers the app sets on every answer (helmet, CORS without Origin: app.locals.staticHeaders). */
  staticHeaders: ReadonlyArray<readonly [string, string]>;
  registry: client.Registry;
}

const SINGLE: Record<string, EventType> = {
  '/api/pause': 'pause',
  '/api/full-view': 'full_view',
  '/api/quality-change': 'quality_change',
};
const BATCH_PATH = '/api/events';

const UUID = /^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$/;
const QUALITY = /^[0-9]{3,4}p$/;
const ANONYMOUS_ID = /^[A-Za-z0-9_-]{8,64}$/;
const JSON_TYPE = /^application\/json\s*(;\s*charset\s*=\s*"?utf-8"?\s*)?$/i;
/** A strict subset of what tsoa's date check (validator's strict ISO 8601) accepts. */
const ISO_TIME =
  /^(\d{4})-(\d{2})-(\d{2})T([01]\d|2[0-3]):([0-5]\d):([0-5]\d)(\.\d{1,9})?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$/;
const MAX_POSITION = 172_800;

const FIELDS: Record<EventType, readonly string[]> = {
  pause: ['event_id', 'film_id', 'client_time', 'position_sec'],
  full_view: ['event_id', 'film_id', 'client_time', 'duration_sec'],
  quality_change: [
    'event_id',
    'film_id',
    'client_time',
    'from_quality',
    'to_quality',
    'position_sec',
  ],
};

function isIsoTime(v: unknown): boolean {
  if (typeof v !== 'string') return false;
  const m = ISO_TIME.exec(v);
  return m !== null && isCalendarDate(Number(m[1]), Number(m[2]), Number(m[3]));
}

const isPosition = (v: unknown): boolean =>
  typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= MAX_POSITION;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** True when `body` is plainly a valid event of `type` (extra `allowed` keys, e.g. `type`). */
export function isValidEvent(type: EventType, body: unknown, withType = false): boolean {
  if (!isPlainObject(body)) return false;
  const fields = FIELDS[type];
  let count = 0;
  for (const key in body) {
    if (withType && key === 'type') continue;
    if (!fields.includes(key)) return false;
    count++;
  }
  if (count !== fields.length) return false;
  if (typeof body.event_id !== 'string' || !UUID.test(body.event_id)) return false;
  if (typeof body.film_id !== 'string' || !UUID.test(body.film_id)) return false;
  if (!isIsoTime(body.client_time)) return false;
  switch (type) {
    case 'pause':
      return isPosition(body.position_sec);
    case 'full_view':
      return isPosition(body.duration_sec);
    case 'quality_change':
      return (
        isPosition(body.position_sec) &&
        typeof body.from_quality === 'string' &&
        QUALITY.test(body.from_quality) &&
        typeof body.to_quality === 'string' &&
        QUALITY.test(body.to_quality)
      );
  }
}

/** True when `body` is plainly a valid batch of at most `maxEvents` events. */
export function isValidBatch(body: unknown, maxEvents: number): boolean {
  if (!isPlainObject(body)) return false;
  for (const key in body) {
    if (key !== 'events' && key !== 'anonymous_id' && key !== 'access_token') return false;
  }
  const { events, anonymous_id: anon, access_token: token } = body;
  if (!Array.isArray(events) || events.length < 1 || events.length > Math.min(maxEvents, 5_000)) {
    return false;
  }
  if (anon !== undefined && (typeof anon !== 'string' || !ANONYMOUS_ID.test(anon))) return false;
  if (token !== undefined && typeof token !== 'string') return false;
  for (const e of events as unknown[]) {
    if (!isPlainObject(e)) return false;
    const type = e.type;
    if (type !== 'pause' && type !== 'full_view' && type !== 'quality_change') return false;
    if (!isValidEvent(type, e, true)) return false;
  }
  return true;
}

export function createFastIntake(options: FastIntakeOptions): FastHandler {
  const { intake, logger } = options;
  const corsAll = options.corsOrigins.includes('*');
  const cors = new Set(options.corsOrigins);
  const requests = new client.Counter({
    name: 'ugc_collector_intake_requests_total',
    help: 'Event intake requests answered on the fast path, by route and status',
    labelNames: ['route', 'status'],
    registers: [options.registry],
  });
  const events = new client.Counter({
    name: 'ugc_collector_events_accepted_total',
    help: 'Events acknowledged by Kafka and answered 202 on the fast path',
    registers: [options.registry],
  });
  const duration = new client.Histogram({
    name: 'ugc_collector_intake_duration_seconds',
    help: 'Time from the request to its answer on the fast path',
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [options.registry],
  });
  const accepted = new Map(
    [...Object.keys(SINGLE), BATCH_PATH].map((p) => [p, requests.labels(p, '202')] as const),
  );

  function send(
    res: ServerResponse,
    requestId: string,
    status: number,
    type: string,
    body: string,
    extra?: Record<string, string>,
  ): void {
    for (const [name, value] of options.staticHeaders) res.setHeader(name, value);
    res.setHeader('X-Request-Id', requestId);
    if (extra) for (const [name, value] of Object.entries(extra)) res.setHeader(name, value);
    res.setHeader('Content-Type', type);
    res.setHeader('Content-Length', Buffer.byteLength(body));
    res.statusCode = status;
    res.end(body);
  }

  function fail(
    req: IncomingMessage,
    res: ServerResponse,
    requestId: string,
    path: string,
    err: unknown,
  ): void {
    const body: ProblemDetails =
      err instanceof DomainError
        ? {
            type: err.type,
            title: err.title,
            status: err.status,
            detail: err.message || undefined,
            instance: req.url,
            ...err.extra,
          }
        : {
            type: 'about:blank',
            title: 'Internal Server Error',
            status: 500,
            detail: 'an unexpected error occurred; quote the errorId when reporting it',
            instance: req.url,
          };
    const extra: Record<string, string> = {};
    if (err instanceof ServiceUnavailableError) {
      body.retryAfter = err.retryAfterSeconds;
      extra['Retry-After'] = String(err.retryAfterSeconds);
    }
    if (body.status >= 500) {
      body.errorId = randomUUID();
      requestContext.run({ requestId }, () =>
        logger.error(
          { err, errorId: body.errorId, req: { method: req.method, url: req.url } },
          err instanceof Error ? err.message : 'unhandled error',
        ),
      );
    }
    requests.labels(path, String(body.status)).inc();
    send(res, requestId, body.status, 'application/problem+json', JSON.stringify(body), extra);
  }

  return (req, res, fallback) => {
    const url = req.url ?? '';
    const single = SINGLE[url];
    const headers = req.headers;
    if (
      req.method !== 'POST' ||
      (single === undefined && url !== BATCH_PATH) ||
      headers['content-encoding'] !== undefined ||
      !JSON_TYPE.test(headers['content-type'] ?? '') ||
      (headers.origin !== undefined && (corsAll || cors.has(headers.origin)))
    ) {
      fallback();
      return;
    }
    const length = Number(headers['content-length']);
    if (!(length > 0 && length <= options.bodyLimitBytes)) {
      fallback();
      return;
    }
    const started = process.hrtime.bigint();
    const chunks: Buffer[] = [];
    // A client that goes away mid-body: nothing to answer (and no unhandled 'error').
    req.on('error', () => undefined);
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const requestId = requestIdOf(req);
      trace.getActiveSpan()?.setAttribute('http.request_id', requestId);
      const text = (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)).toString('utf8');
      let body: unknown;
      try {
        const first = text.trimStart()[0];
        if (first !== '{' && first !== '[') throw new SyntaxError('not an object');
        body = JSON.parse(text);
      } catch {
        requests.labels(url, '400').inc();
        requestContext.run({ requestId }, () =>
          logger.warn({ req: { method: req.method, url } }, `POST ${url} 400: body is not JSON`),
        );
        send(
          res,
          requestId,
          400,
          'application/problem+json',
          JSON.stringify({
            type: 'about:blank',
            title: 'Bad Request',
            status: 400,
            detail: 'the body is not valid JSON',
            instance: url,
          }),
        );
        return;
      }
      // Anything not plainly valid is answered by the Express app (tsoa's exact 422 fields).
      const slow = () => {
        const r = req as IncomingMessage & { body?: unknown; _body?: boolean };
        r.body = body;
        r._body = true;
        fallback();
      };
      const header = (name: string) => headers[name] as string | undefined;
      const token = bearerToken({ header } as Parameters<typeof bearerToken>[0]);
      const anonymousId = header('x-anonymous-id');
      let work: Promise<number>;
      if (single !== undefined) {
        if (!isValidEvent(single, body)) return slow();
        if (token === undefined && (anonymousId === undefined || !ANONYMOUS_ID.test(anonymousId)))
          return slow();
        work = intake.acceptOne(single, body as PauseEvent, { token, anonymousId });
      } else {
        if (!isValidBatch(body, options.batchMaxEvents)) return slow();
        const b = body as { events: BatchItem[]; anonymous_id?: string; access_token?: string };
        const caller = {
          token: token ?? b.access_token,
          anonymousId: anonymousId ?? b.anonymous_id,
        };
        if (
          caller.token === undefined &&
          (caller.anonymousId === undefined || !ANONYMOUS_ID.test(caller.anonymousId))
        )
          return slow();
        work = intake.acceptBatch(b.events, caller);
      }
      work.then(
        (n) => {
          accepted.get(url)!.inc();
          events.inc(n);
          duration.observe(Number(process.hrtime.bigint() - started) / 1e9);
          send(res, requestId, 202, 'application/json; charset=utf-8', `{"accepted":${n}}`);
        },
        (err: unknown) => {
          // A viewer problem (bad or expired token): Express answers it as it always did.
          if (err instanceof DomainError && err.status < 500) return slow();
          fail(req, res, requestId, url, err);
        },
      );
    });
  };
}
