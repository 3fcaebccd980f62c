/**
 * Trace context across the outbox: the W3C `traceparent` of the span active where an event is
 * written (the HTTP request that caused it) is kept in the outbox row; the relay publishes the
 * message under a producer span that is a child of that context and puts the producer span's
 * `traceparent` into the AMQP headers, so the consumer's spans join the request's trace, though
 * the relay sends long after the request ended and in another loop. (OpenTelemetry's amqplib
 * instrumentation supports amqplib < 1; the platform runs amqplib 2, hence these few lines.)
 * Without the OpenTelemetry SDK nothing is kept and the stored value, if any, is passed on as is.
 */
import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  trace,
  type Attributes,
  type Context,
} from '@opentelemetry/api';

const TRACEPARENT = /^[\da-f]{2}-[\da-f]{32}-[\da-f]{16}-[\da-f]{2}$/;

/** The active span's `traceparent` (W3C), or null when there is none. */
export function currentTraceparent(): string | null {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  const value = carrier.traceparent;
  return value && TRACEPARENT.test(value) ? value : null;
}

/** The context a stored `traceparent` names (the root context when none or malformed). */
export function contextOf(traceparent: string | null | undefined): Context {
  if (!traceparent || !TRACEPARENT.test(traceparent)) return ROOT_CONTEXT;
  return propagation.extract(ROOT_CONTEXT, { traceparent });
}

/** Runs `fn` in the context of a stored `traceparent`. */
export function withTraceparent<T>(traceparent: string | null | undefined, fn: () => T): T {
  return context.with(contextOf(traceparent), fn);
}

const tracer = () => trace.getTracer('@cinema/outbox');

/**
 * Runs `send` under a producer span `<exchange> publish`, child of the stored `traceparent`,
 * handing it the headers that carry the producer span's context (the stored value when no SDK
 * records spans). The span ends when `send` returns (the broker's confirm is awaited per batch).
 */
export function publishInTrace<T>(
  traceparent: string | null | undefined,
  exchange: string,
  attributes: Attributes,
  send: (headers: Record<string, string>) => T,
): T {
  const parent = contextOf(traceparent);
  const span = tracer().startSpan(
    `${exchange} publish`,
    {
      kind: SpanKind.PRODUCER,
      attributes: {
        'messaging.system': 'rabbitmq',
        'messaging.operation.type': 'publish',
        'messaging.destination.name': exchange,
        ...attributes,
      },
    },
    parent,
  );
  try {
    const headers: Record<string, string> = {};
    propagation.inject(trace.setSpan(parent, span), headers);
    if (!headers.traceparent && traceparent && TRACEPARENT.test(traceparent)) {
      headers.traceparent = traceparent;
    }
    return send(headers);
  } finally {
    span.end();
  }
}
