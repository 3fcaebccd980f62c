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
  /** The request being served (absent in work no HTTP request started, e.g. a Kafka batch). */
  requestId?: string;
}

/**
 * Holds the request id of the request being served, for logs and outgoing calls; OpenTelemetry's
 * context lives in the same storage (`@cinema/telemetry`'s context manager). Enter it with the
 * current store spread in (`run({ ...requestContext.getStore(), requestId }, fn)`) so the other
 * values are kept.
 */
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

/** Keys whose values never reach a log line, at any depth, in any letter case. */
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
  'set-cookie',
  'x-api-key',
];
const SECRET = new Set(SECRET_KEYS.map((k) => k.toLowerCase()));
const CENSOR = '[redacted]';
/** Deeper than any log object here; also stops on cycles. Below it, objects are not logged. */
const MAX_DEPTH = 8;
const TOO_DEEP = '[too deep to check for secrets]';

/** Values whose own keys are not fields (they log as a whole, or not at all). */
function opaque(value: object): boolean {
  return (
    ArrayBuffer.isView(value) ||
    value instanceof ArrayBuffer ||
    value instanceof Date ||
    value instanceof RegExp ||
    value instanceof Map ||
    value instanceof Set
  );
}

/** A copy that keeps what JSON and pino's error serializer see (errors stay errors). */
function copyOf(value: object): Record<string, unknown> {
  if (value instanceof Error) {
    const copy = Object.create(Object.getPrototypeOf(value) as object) as Record<string, unknown>;
    Object.defineProperties(copy, Object.getOwnPropertyDescriptors(value));
    return copy;
  }
  return { ...(value as Record<string, unknown>) };
}

/**
 * `value` with every secret-named key (SECRET_KEYS, any letter case, any depth) replaced by
 * `[redacted]`. Copy on write: the caller's objects are never changed, and an object without
 * secrets is returned as it is. Every log line goes through it (pino's `formatters.log`): one
 * walk over the line's keys, where pino's wildcard redaction paths cost a redaction call for
 * every top-level field (about an eighth of catalog-api's CPU per request, docs/benchmarks.md).
 */
export function censorSecrets<T>(value: T, depth = 0): T {
  if (typeof value !== 'object' || value === null) return value;
  // Not checked, so not logged: a secret below the limit would otherwise pass.
  if (depth > MAX_DEPTH) return (opaque(value) ? value : TOO_DEEP) as T;
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      const next = censorSecrets(item, depth + 1);
      if (next !== item) (out ??= value.slice())[i] = next;
    }
    return (out ?? value) as T;
  }
  if (opaque(value)) return value;
  const source = value as Record<string, unknown>;
  let out: Record<string, unknown> | undefined;
  for (const key of Object.keys(source)) {
    const item = source[key];
    const next = SECRET.has(key.toLowerCase()) ? CENSOR : censorSecrets(item, depth + 1);
    if (next !== item) (out ??= copyOf(source))[key] = next;
  }
  return (out ?? value) as T;
}

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
  const ecsLog = ecs.formatters?.log ?? ((fields: Record<string, unknown>) => fields);
  return pino(
    {
      ...ecs,
      formatters: {
        ...ecs.formatters,
        // Secrets out first, then ECS (which turns `err` into `error.*`).
        log: (fields) => ecsLog(censorSecrets(fields)),
      },
      level: options.level ?? 'info',
      mixin() {
        const fields: Record<string, unknown> = {};
        const span = readSpan();
        if (span) {
          fields['trace.id'] = span.traceId;
          fields['span.id'] = span.spanId;
        }
        const ctx = requestContext.getStore();
        if (ctx?.requestId) fields['http.request.id'] = ctx.requestId;
        return fields;
      },
    },
    options.destination ?? pino.destination({ sync: false }),
  );
}
