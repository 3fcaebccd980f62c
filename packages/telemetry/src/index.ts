/**
 * OpenTelemetry for every service: the Node SDK with HTTP, Express and store instrumentations,
 * exporting OTLP over HTTP when OTEL_EXPORTER_OTLP_ENDPOINT (or ..._TRACES_ENDPOINT) is set and
 * keeping spans local otherwise (trace ids still reach the logs). Load it before the app with
 * `node --require @cinema/telemetry/register dist/main.js`.
 */
import { diag, DiagConsoleLogger, DiagLogLevel } from '@opentelemetry/api';
import { OTLPTraceExporter as OTLPJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OTLPProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { AmqplibInstrumentation } from '@opentelemetry/instrumentation-amqplib';
import { ExpressInstrumentation, ExpressLayerType } from '@opentelemetry/instrumentation-express';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { KafkaJsInstrumentation } from '@opentelemetry/instrumentation-kafkajs';
import { MongoDBInstrumentation } from '@opentelemetry/instrumentation-mongodb';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { Resource } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import {
  BatchSpanProcessor,
  NoopSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import { restoreMessageOrigin } from './fan-in';
export { consumeInTrace } from './messaging';

export {
  captureContext,
  messageOrigin,
  restoreMessageOrigin,
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
type Holder = { [KEY]?: NodeSDK };

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
  const sdk = new NodeSDK({
    resource: new Resource({
      [ATTR_SERVICE_NAME]: options.serviceName,
      ...(options.serviceVersion ? { [ATTR_SERVICE_VERSION]: options.serviceVersion } : {}),
    }),
    spanProcessors,
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (req) => /^\/(healthz|readyz|metrics)/.test(req.url ?? ''),
      }),
      // Route names on the HTTP span, no span per middleware (ten per request here: most of
      // the tracing cost, and nothing a reader of a trace needs).
      new ExpressInstrumentation({
        ignoreLayersType: [ExpressLayerType.MIDDLEWARE, ExpressLayerType.REQUEST_HANDLER],
      }),
      // Outgoing HTTP through Node's fetch (undici): catalog-admin -> auth, notifications -> auth.
      // The Elasticsearch client (undici too) is left out: it traces its own calls.
      new UndiciInstrumentation({ ignoreRequestHook: isElasticsearchClient }),
      new PgInstrumentation(),
      new IORedisInstrumentation(),
      new AmqplibInstrumentation(),
      new KafkaJsInstrumentation({
        producerHook: (span, { message }) => restoreMessageOrigin(span, message),
      }),
      new MongoDBInstrumentation(),
    ],
  });
  sdk.start();
  holder[KEY] = sdk;
  return sdk;
}

/** Flushes and stops the SDK if it was started; called last in a service's shutdown. */
export async function shutdownTelemetry(): Promise<void> {
  const holder = globalThis as Holder;
  const sdk = holder[KEY];
  if (!sdk) return;
  delete holder[KEY];
  await sdk.shutdown();
}
