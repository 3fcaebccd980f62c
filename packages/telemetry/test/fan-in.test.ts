import { context, propagation, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import {
  captureContext,
  messageOrigin,
  shutdownTelemetry,
  SpanCollector,
  SpanKind,
  startTelemetry,
  tagMessage,
  traceFanIn,
  withMessageOrigins,
} from '@cinema/telemetry';

const ENV = ['OTEL_TRACES_SAMPLER', 'OTEL_TRACES_SAMPLER_ARG'] as const;
const saved = Object.fromEntries(ENV.map((k) => [k, process.env[k]]));

afterEach(async () => {
  await shutdownTelemetry();
  trace.disable();
  context.disable();
  propagation.disable();
  for (const k of ENV) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
});

/** Two "requests" each producing a message with its traceparent in Kafka-style Buffer headers. */
function produce(): { headers: Record<string, Buffer>; traceId: string }[] {
  const tracer = trace.getTracer('test');
  return [1, 2].map((n) =>
    tracer.startActiveSpan(`request ${n}`, (span) => {
      const carrier: Record<string, string> = {};
      propagation.inject(context.active(), carrier);
      span.end();
      return {
        headers: Object.fromEntries(Object.entries(carrier).map(([k, v]) => [k, Buffer.from(v)])),
        traceId: span.spanContext().traceId,
      };
    }),
  );
}

test('a batch span links to every producer; each producing trace gets the batch and the insert', async () => {
  const exporter = new SpanCollector();
  startTelemetry({ serviceName: 'fan-in-test', exporter });
  const messages = produce();
  const tracer = trace.getTracer('test');
  let insertContexts: ReturnType<typeof captureContext>[] = [];
  await tracer.startActiveSpan('receive', { root: true }, async (receive) => {
    await traceFanIn(
      'topic process',
      [withMessageOrigins(messages.map((m) => m.headers))],
      async () => {
        insertContexts = [captureContext()];
      },
      { kind: SpanKind.CONSUMER },
    );
    await traceFanIn('clickhouse insert t', insertContexts, async () => undefined, {
      kind: SpanKind.CLIENT,
    });
    receive.end();
  });
  await shutdownTelemetry();

  const byTrace = (id: string) => exporter.spans.filter((s) => s.spanContext().traceId === id);
  for (const m of messages) {
    const names = byTrace(m.traceId).map((s) => s.name);
    expect(names).toEqual(expect.arrayContaining(['topic process', 'clickhouse insert t']));
    // The insert mirror hangs under the process mirror of the same trace.
    const process = byTrace(m.traceId).find((s) => s.name === 'topic process')!;
    const insert = byTrace(m.traceId).find((s) => s.name === 'clickhouse insert t')!;
    expect(insert.parentSpanId).toBe(process.spanContext().spanId);
  }
  const receive = exporter.spans.find((s) => s.name === 'receive')!;
  const shared = byTrace(receive.spanContext().traceId);
  const batch = shared.find((s) => s.name === 'topic process')!;
  expect(batch.links.map((l) => l.context.traceId).sort()).toEqual(
    messages.map((m) => m.traceId).sort(),
  );
  expect(shared.find((s) => s.name === 'clickhouse insert t')!.links).toHaveLength(2);
});

test('without the SDK the helpers only run the work', async () => {
  const result = await traceFanIn(
    'x',
    [
      withMessageOrigins([
        { traceparent: Buffer.from('00-' + '1'.repeat(32) + '-' + '2'.repeat(16) + '-01') },
      ]),
    ],
    async () => 42,
  );
  expect(result).toBe(42);
});

test('OTEL_TRACES_SAMPLER=parentbased_traceidratio: ratio 0 drops new traces, a sampled parent still wins', async () => {
  process.env.OTEL_TRACES_SAMPLER = 'parentbased_traceidratio';
  process.env.OTEL_TRACES_SAMPLER_ARG = '0';
  const exporter = new SpanCollector();
  startTelemetry({ serviceName: 'sampling-test', exporter });
  const tracer = trace.getTracer('test');
  tracer.startSpan('new trace').end();
  const parent = propagation.extract(ROOT_CONTEXT, {
    traceparent: `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`,
  });
  tracer.startSpan('child of a sampled caller', {}, parent).end();
  await shutdownTelemetry();
  expect(exporter.spans.map((s) => s.name)).toEqual(['child of a sampled caller']);
});

test('by default every trace is sampled', async () => {
  delete process.env.OTEL_TRACES_SAMPLER;
  const exporter = new SpanCollector();
  startTelemetry({ serviceName: 'sampling-test', exporter });
  for (let i = 0; i < 20; i++) trace.getTracer('test').startSpan(`s${i}`).end();
  await shutdownTelemetry();
  expect(exporter.spans).toHaveLength(20);
});

test('a message made in a request carries that request as its origin when a later batch sends it', async () => {
  const exporter = new SpanCollector();
  startTelemetry({ serviceName: 'origin-test', exporter });
  const tracer = trace.getTracer('test');
  let requestSpanId = '';
  const message = tracer.startActiveSpan('request', (span) => {
    requestSpanId = span.spanContext().spanId;
    const m = tagMessage(
      { key: 'k', value: 'v', headers: { kept: 'yes' } },
      messageOrigin(captureContext()),
    );
    span.end();
    return m as { key: string; value: string; headers: Record<string, unknown> };
  });
  expect(message.headers.kept).toBe('yes');
  expect(String(message.headers.traceparent).split('-')[2]).toBe(requestSpanId);
  // The batch's send, in another context, links to the request through the message's headers.
  const sent = await tracer.startActiveSpan('batch', async (batch) => {
    const origins = withMessageOrigins([message.headers]);
    await traceFanIn('kafka publish', [origins], async () => undefined);
    batch.end();
    return batch.spanContext();
  });
  await shutdownTelemetry();
  const publish = exporter.spans.filter((s) => s.name === 'kafka publish');
  // The shared span in the batch's trace, a mirror in the request's.
  expect(publish.map((s) => s.spanContext().traceId).sort()).toEqual(
    [sent.traceId, String(message.headers.traceparent).split('-')[1]].sort(),
  );
  // Untagged: headers left as they were.
  expect(tagMessage({ key: 'k' }, undefined)).toEqual({ key: 'k' });
});
