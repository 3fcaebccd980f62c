/**
 * OpenTelemetry for every service: the Node SDK with HTTP, fetch, pg, ioredis, amqplib and
 * mongodb instrumentations. Not loaded, on purpose: Express's (`@cinema/http` names the server
 * span by its route template instead of wrapping every middleware of every request) and kafkajs's
 * (every Kafka send and receive here is a batch that `traceFanIn` already spans, with the
 * request's trace headers in each message; its per-message spans repeated those),
 * exporting OTLP over HTTP when OTEL_EXPORTER_OTLP_ENDPOINT (or ..._TRACES_ENDPOINT) is set and
 * keeping spans local otherwise (trace ids still reach the logs). Load it before the app with
 * `node --require @cinema/telemetry/register dist/main.js`.
 */
import { diag, DiagConsoleLogger, DiagLogLevel } from '@opentelemetry/api';
import { OTLPTraceExporter as OTLPJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OTLPProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { AmqplibInstrumentation } from '@opentelemetry/instrumentation-amqplib';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { MongoDBInstrumentation } from '@opentelemetry/instrumentation-mongodb';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { Resource } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import {
  BatchSpanProcessor,
  InMemorySpanExporter,
  NoopSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import { SharedContextManager } from './context';
export { consumeInTrace } from './messaging';
export { SharedContextManager } from './context';
export { traceIncomingRequests } from './http-server';

export {
  captureContext,
  messageOrigin,
  SpanKind,
  tagMessage,
  traceFanIn,
  withMessageOrigins,
  type Context,
  type FanInOptions,
} from './fan-in';

export interface TelemetryOptions {
  serviceName: string;
  serviceVersion?: string;
  /** OTLP/HTTP base endpoint, e.g. http://jaeger:4318; traces go to `${endpoint}/v1/traces`. */
  endpoint?: string;
  /**
   * OTLP/HTTP encoding: `http/json` (default here) or `http/protobuf` (OpenTelemetry's default;
   * smaller, but its protobufjs encoding costs this SDK about twice the CPU per span:
   * tests/observability/span-export.bench.mjs).
   */
  protocol?: 'http/protobuf' | 'http/json';
  /** Overrides the exporter (tests). */
  exporter?: SpanExporter;
}

const KEY = Symbol.for('cinema.telemetry');
const INSTRUMENTED = Symbol.for('cinema.telemetry.instrumentations');
type Holder = { [KEY]?: NodeSDK; [INSTRUMENTED]?: Instrumentation[] };

/**
 * Keeps every finished span in memory, also after the SDK shut down (the SDK's
 * InMemorySpanExporter empties itself then): `startTelemetry({ exporter })` in tests and tools,
 * `shutdownTelemetry()` to flush, then `spans`.
 */
export class SpanCollector extends InMemorySpanExporter {
  get spans() {
    return this.getFinishedSpans();
  }
  override shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** Reads the options from the standard OTEL_* variables. */
export function optionsFromEnv(env: NodeJS.ProcessEnv = process.env): TelemetryOptions {
  const tracesEndpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT;
  return {
    serviceName: env.OTEL_SERVICE_NAME ?? env.SERVICE_NAME ?? 'cinema-service',
    serviceVersion: env.SERVICE_VERSION,
    endpoint: tracesEndpoint ? tracesEndpoint.replace(/\/v1\/traces\/?$/, '') : base,
    protocol:
      (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL) ===
      'http/protobuf'
        ? 'http/protobuf'
        : 'http/json',
  };
}

/** A request of the Elasticsearch client (it sends `x-elastic-client-meta` on each). */
export function isElasticsearchClient(request: { headers: string | string[] }): boolean {
  const headers = request.headers;
  return Array.isArray(headers)
    ? headers.some((h, i) => i % 2 === 0 && h.toLowerCase() === 'x-elastic-client-meta')
    : /(^|\r\n)x-elastic-client-meta:/i.test(headers);
}

/**
 * The instrumentations this package loads, by the short names OpenTelemetry's Node
 * auto-instrumentation uses in `OTEL_NODE_DISABLED_INSTRUMENTATIONS` (e.g. `undici,mongodb`).
 */
type Instrumentation = NonNullable<
  NonNullable<ConstructorParameters<typeof NodeSDK>[0]>['instrumentations']
>[number];

export const INSTRUMENTATIONS = ['http', 'undici', 'pg', 'ioredis', 'amqplib', 'mongodb'] as const;
export type InstrumentationName = (typeof INSTRUMENTATIONS)[number];

/** `OTEL_NODE_DISABLED_INSTRUMENTATIONS`, checked: an unknown name is an error, not ignored. */
export function disabledInstrumentations(
  env: NodeJS.ProcessEnv = process.env,
): Set<InstrumentationName> {
  const names = (env.OTEL_NODE_DISABLED_INSTRUMENTATIONS ?? '')
    .split(',')
    .map((n) => n.trim())
    .filter(Boolean);
  const unknown = names.filter((n) => !(INSTRUMENTATIONS as readonly string[]).includes(n));
  if (unknown.length) {
    throw new Error(
      `OTEL_NODE_DISABLED_INSTRUMENTATIONS: unknown ${unknown.join(', ')} ` +
        `(known: ${INSTRUMENTATIONS.join(', ')})`,
    );
  }
  return new Set(names as InstrumentationName[]);
}

function instrumentationsOf(disabled: Set<InstrumentationName>): Instrumentation[] {
  const make: Record<InstrumentationName, () => Instrumentation> = {
    // Outgoing requests only: incoming ones get their span from traceIncomingRequests, the
    // first middleware of every app (see http-server.ts for why).
    http: () => new HttpInstrumentation({ disableIncomingRequestInstrumentation: true }),
    // Outgoing HTTP through Node's fetch (undici): catalog-admin -> auth, notifications -> auth.
    // The Elasticsearch client (undici too) is left out: it traces its own calls.
    undici: () => new UndiciInstrumentation({ ignoreRequestHook: isElasticsearchClient }),
    pg: () => new PgInstrumentation(),
    ioredis: () => new IORedisInstrumentation(),
    amqplib: () => new AmqplibInstrumentation(),
    mongodb: () => new MongoDBInstrumentation(),
  };
  return INSTRUMENTATIONS.filter((n) => !disabled.has(n)).map((n) => make[n]());
}

export function startTelemetry(options: TelemetryOptions): NodeSDK {
  const holder = globalThis as Holder;
  if (holder[KEY]) return holder[KEY];
  if (process.env.OTEL_LOG_LEVEL === 'debug') {
    diag.setLogger(new DiagConsoleLogger(), DiagLogLevel.DEBUG);
  }
  const exporter =
    options.exporter ??
    (options.endpoint
      ? new (options.protocol === 'http/protobuf' ? OTLPProtoExporter : OTLPJsonExporter)({
          url: `${options.endpoint.replace(/\/$/, '')}/v1/traces`,
        })
      : undefined);
  // Without an exporter, a processor that drops the spans: NodeSDK registers the tracer provider
  // (context manager, W3C propagator) only when there is a processor, and without it no span
  // exists at all: no trace ids in the logs, no traceparent passed on.
  const spanProcessors: SpanProcessor[] = exporter
    ? [new BatchSpanProcessor(exporter, { scheduledDelayMillis: 1000 })]
    : [new NoopSpanProcessor()];
  const instrumentations = instrumentationsOf(disabledInstrumentations());
  const sdk = new NodeSDK({
    contextManager: new SharedContextManager(),
    resource: new Resource({
      [ATTR_SERVICE_NAME]: options.serviceName,
      ...(options.serviceVersion ? { [ATTR_SERVICE_VERSION]: options.serviceVersion } : {}),
    }),
    spanProcessors,
    instrumentations,
  });
  sdk.start();
  holder[KEY] = sdk;
  holder[INSTRUMENTED] = instrumentations;
  return sdk;
}

/**
 * Flushes and stops the SDK if it was started; called last in a service's shutdown. The
 * instrumentations are disabled too (the SDK leaves them patched and subscribed to Node's
 * diagnostics channels, where a later user in the same process would still find them).
 */
export async function shutdownTelemetry(): Promise<void> {
  const holder = globalThis as Holder;
  const sdk = holder[KEY];
  if (!sdk) return;
  delete holder[KEY];
  await sdk.shutdown();
  for (const i of (holder[INSTRUMENTED] ?? []).flat()) i.disable();
  delete holder[INSTRUMENTED];
}
