/**
 * Spans for work that serves many traces at once: a Kafka batch (messages from many requests),
 * a ClickHouse insert (rows from many batches). OpenTelemetry's answer is span links: the work's
 * span lives in the consumer's own trace and links to every producing span. Links alone leave
 * the producing request's trace without the work done for it, so each producing trace also gets
 * a mirror span (same name, same timing, a link back to the shared span): "one request, every
 * hop" is then one trace in Jaeger, and the shared span still shows the whole batch.
 *
 * The producing contexts travel in the active context under one key, so adapters hand them on
 * without the domain code in between knowing about tracing.
 */
import {
  context as contextApi,
  createContextKey,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Link,
  type Span,
  type SpanContext,
  type TextMapGetter,
} from '@opentelemetry/api';

export type { Context } from '@opentelemetry/api';

const ORIGINS = createContextKey('cinema.telemetry.fan-in.origins');
/** Links per span at most (the SDK's default span limit is 128). */
const MAX_LINKS = 128;

type Carrier = Record<string, unknown> | undefined;

/** Reads W3C headers from Kafka (Buffer or string values) or AMQP (string) header objects. */
export const headerGetter: TextMapGetter<Carrier> = {
  keys: (carrier) => Object.keys(carrier ?? {}),
  get: (carrier, key) => {
    const value = carrier?.[key];
    const first = Array.isArray(value) ? (value[0] as unknown) : value;
    if (first === undefined || first === null) return undefined;
    return Buffer.isBuffer(first) ? first.toString('utf8') : String(first as string);
  },
};

/** The active context (to hand to `traceFanIn` later, e.g. from a queued insert). */
export function captureContext(): Context {
  return contextApi.active();
}

function originsIn(ctx: Context): SpanContext[] {
  return (ctx.getValue(ORIGINS) as SpanContext[] | undefined) ?? [];
}

/** One span context per trace: the first seen of each trace id. */
function distinctTraces(contexts: SpanContext[]): SpanContext[] {
  const byTrace = new Map<string, SpanContext>();
  for (const sc of contexts) if (!byTrace.has(sc.traceId)) byTrace.set(sc.traceId, sc);
  return [...byTrace.values()];
}

/**
 * `ctx` (the active context by default) carrying the producing spans found in the messages'
 * headers (`traceparent`), one per trace.
 */
export function withMessageOrigins(
  carriers: Carrier[],
  ctx: Context = contextApi.active(),
): Context {
  const found: SpanContext[] = [];
  for (const carrier of carriers) {
    if (!carrier) continue;
    const sc = trace.getSpanContext(propagation.extract(ROOT_CONTEXT, carrier, headerGetter));
    if (sc && trace.isSpanContextValid(sc)) found.push(sc);
  }
  return found.length ? ctx.setValue(ORIGINS, distinctTraces([...originsIn(ctx), ...found])) : ctx;
}

export interface FanInOptions {
  kind?: SpanKind;
  attributes?: Attributes;
  tracerName?: string;
}

/**
 * Runs `work` in a span that serves every context of `parents` (their active spans and the
 * producing spans they carry): the span is a child of the first parent and links to the others
 * and to the producers; each producing trace gets a mirror span. Inside `work` the active span is
 * the shared one and the mirrors are the producing spans a further fan-in links and mirrors to.
 */
export async function traceFanIn<T>(
  name: string,
  parents: Context[],
  work: () => Promise<T>,
  options: FanInOptions = {},
): Promise<T> {
  const tracer = trace.getTracer(options.tracerName ?? '@cinema/telemetry');
  const first = parents[0] ?? contextApi.active();
  const origins = distinctTraces(parents.flatMap(originsIn));
  const linked = new Map<string, Link>();
  for (const p of parents.slice(1)) {
    const sc = trace.getSpanContext(p);
    if (sc && trace.isSpanContextValid(sc)) linked.set(sc.spanId, { context: sc });
  }
  for (const sc of origins) linked.set(sc.spanId, { context: sc });
  const kind = options.kind ?? SpanKind.INTERNAL;
  const main = tracer.startSpan(
    name,
    {
      kind,
      attributes: { ...options.attributes, 'fan_in.parents': parents.length },
      links: [...linked.values()].slice(0, MAX_LINKS),
    },
    first,
  );
  const mainContext = main.spanContext();
  const mirrors: Span[] = origins
    .filter((sc) => sc.traceId !== mainContext.traceId)
    .map((sc) =>
      tracer.startSpan(
        name,
        {
          kind,
          attributes: { ...options.attributes, 'fan_in.mirror': true },
          links: [{ context: mainContext }],
        },
        trace.setSpanContext(ROOT_CONTEXT, sc),
      ),
    );
  const all = [main, ...mirrors];
  const inside = trace.setSpan(first, main).setValue(
    ORIGINS,
    mirrors.map((m) => m.spanContext()).filter((sc) => sc.isRemote !== true),
  );
  try {
    return await contextApi.with(inside, work);
  } catch (err) {
    for (const span of all) {
      span.recordException(err as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
    }
    throw err;
  } finally {
    for (const span of all) span.end();
  }
}

/** The W3C headers of `origin` (e.g. a request's context from `captureContext()`), if traced. */
export function messageOrigin(origin: Context): Record<string, string> | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(origin, carrier);
  return Object.keys(carrier).length ? carrier : undefined;
}

/**
 * For messages created in a request but sent later in a batch (group commit, a flush timer):
 * puts the request's trace headers (`messageOrigin(captureContext())` where the message was
 * made) into the message's headers, so the consumer continues that request's trace. No
 * instrumentation rewrites them: the kafkajs instrumentation is not loaded (see startTelemetry).
 */
export function tagMessage<M extends object>(
  message: M,
  origin: Record<string, string> | undefined,
): M {
  if (!origin) return message;
  const m = message as { headers?: object };
  m.headers = { ...m.headers, ...origin };
  return message;
}

export { SpanKind };
