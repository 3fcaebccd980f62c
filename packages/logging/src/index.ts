/**
 * JSON logs in Elastic Common Schema (pino + @elastic/ecs-pino-format), with `service.name`,
 * the active trace and span ids, the request id of the HTTP request being served, and secrets
 * (authorization headers, cookies, passwords, tokens) redacted wherever they appear.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { ecsFormat } from '@elastic/ecs-pino-format';
import { trace } from '@opentelemetry/api';
import pino, { type DestinationStream, type Logger } from 'pino';

export type { Logger };

export interface RequestContext {
  requestId: string;
}

/** Holds the request id of the request being served, for logs and outgoing calls. */
export const requestContext = new AsyncLocalStorage<RequestContext>();

/**
 * Reads the active OpenTelemetry span through `@opentelemetry/api`, whose global the telemetry
 * package fills when the SDK is loaded; without it there is no active span and no ids.
 */
type SpanContextReader = () => { traceId: string; spanId: string } | undefined;
const fromOpenTelemetry: SpanContextReader = () => {
  const span = trace.getActiveSpan();
  if (!span) return undefined;
  const { traceId, spanId } = span.spanContext();
  return { traceId, spanId };
};
let readSpan: SpanContextReader = fromOpenTelemetry;
/** Replaces how the active span is read (tests); `undefined` restores OpenTelemetry's. */
export function setSpanContextReader(reader?: SpanContextReader): void {
  readSpan = reader ?? fromOpenTelemetry;
}

const SECRET_KEYS = [
  'password',
  'newPassword',
  'currentPassword',
  'token',
  'accessToken',
  'refreshToken',
  'access_token',
  'refresh_token',
  'id_token',
  'secret',
  'clientSecret',
  'authorization',
  'cookie',
];

/** Paths redacted by pino: request/response headers and secret-named keys up to two levels deep. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  ...SECRET_KEYS,
  ...SECRET_KEYS.map((k) => `*.${k}`),
  ...SECRET_KEYS.map((k) => `*.*.${k}`),
];

export interface LoggerOptions {
  service: string;
  level?: string;
  version?: string;
  /** Where to write; stdout by default (tests pass a stream). */
  destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions): Logger {
  const ecs = ecsFormat({
    convertReqRes: false,
    apmIntegration: false,
    serviceName: options.service,
    serviceVersion: options.version,
  });
  return pino(
    {
      ...ecs,
      level: options.level ?? 'info',
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      mixin() {
        const fields: Record<string, unknown> = {};
        const span = readSpan();
        if (span) {
          fields['trace.id'] = span.traceId;
          fields['span.id'] = span.spanId;
        }
        const ctx = requestContext.getStore();
        if (ctx) fields['http.request.id'] = ctx.requestId;
        return fields;
      },
    },
    options.destination ?? pino.destination({ sync: false }),
  );
}
