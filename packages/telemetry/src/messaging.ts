/**
 * A consumer span for one RabbitMQ message, child of the producer span whose W3C context the
 * message carries in its headers (the outbox relay of `@cinema/outbox` puts it there): the
 * consumer's work (database, mail, ...) then belongs to the trace of the request that caused
 * the event. OpenTelemetry's amqplib instrumentation would do this for amqplib < 1; the platform
 * runs amqplib 2.
 */
import {
  context as contextApi,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
} from '@opentelemetry/api';
import { headerGetter } from './fan-in';

/** Runs `work` under a consumer span `<queue> process` in the trace the headers name. */
export async function consumeInTrace<T>(
  headers: Record<string, unknown> | undefined,
  queue: string,
  attributes: Attributes,
  work: () => Promise<T>,
): Promise<T> {
  const parent = propagation.extract(ROOT_CONTEXT, headers, headerGetter);
  const span = trace.getTracer('@cinema/telemetry').startSpan(
    `${queue} process`,
    {
      kind: SpanKind.CONSUMER,
      attributes: {
        'messaging.system': 'rabbitmq',
        'messaging.operation.type': 'process',
        'messaging.destination.name': queue,
        ...attributes,
      },
    },
    parent,
  );
  try {
    return await contextApi.with(trace.setSpan(parent, span), work);
  } catch (err) {
    span.recordException(err as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error)?.message });
    throw err;
  } finally {
    span.end();
  }
}
