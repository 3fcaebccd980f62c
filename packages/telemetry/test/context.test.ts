import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { context, propagation, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { requestContext } from '@cinema/logging';
import {
  SharedContextManager,
  shutdownTelemetry,
  SpanCollector,
  startTelemetry,
} from '@cinema/telemetry';

afterEach(async () => {
  await shutdownTelemetry();
  trace.disable();
  context.disable();
  propagation.disable();
});

describe('OpenTelemetry context in the request id storage', () => {
  it('is the context manager the SDK registers', () => {
    startTelemetry({ serviceName: 'context-test', exporter: new SpanCollector() });
    const tracer = trace.getTracer('test');
    const span = tracer.startSpan('outer');
    const inside = context.with(trace.setSpan(context.active(), span), () => ({
      span: trace.getActiveSpan(),
      store: requestContext.getStore(),
    }));
    span.end();
    expect(inside.span).toBe(span);
    // The span's context sits in the request id's storage: one storage for both.
    expect(inside.store).toBeDefined();
    expect(Object.getOwnPropertySymbols(inside.store)).toHaveLength(1);
  });

  it('keeps the request id through context.with and the span through requestContext.run', async () => {
    const manager = new SharedContextManager();
    context.setGlobalContextManager(manager);
    const span = trace.wrapSpanContext({
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
      traceFlags: 1,
    });
    const seen = await requestContext.run({ requestId: 'req-1' }, () =>
      context.with(trace.setSpan(context.active(), span), () =>
        // As @cinema/http enters a request id under the server span: the store spread in.
        requestContext.run({ ...requestContext.getStore(), requestId: 'req-2' }, async () => {
          await sleep(5);
          return {
            requestId: requestContext.getStore()?.requestId,
            spanId: trace.getActiveSpan()?.spanContext().spanId,
          };
        }),
      ),
    );
    expect(seen).toEqual({ requestId: 'req-2', spanId: 'b7ad6b7169203331' });
    // Outside, nothing is left active.
    expect(context.active()).toBe(ROOT_CONTEXT);
    expect(requestContext.getStore()).toBeUndefined();
  });

  it('binds functions and event emitters to a context, as the instrumentations use it', () => {
    const manager = new SharedContextManager();
    context.setGlobalContextManager(manager);
    const key = Symbol('k');
    const ctx = ROOT_CONTEXT.setValue(key, 'bound');
    const read = context.bind(ctx, () => context.active().getValue(key));
    expect(read()).toBe('bound');
    const emitter = context.bind(ctx, new EventEmitter());
    let heard: unknown;
    emitter.on('ping', () => (heard = context.active().getValue(key)));
    emitter.emit('ping');
    expect(heard).toBe('bound');
    // A call with `this` keeps it.
    const self = { name: 'me' };
    expect(
      context.with(
        ctx,
        function (this: typeof self) {
          return this.name;
        },
        self,
      ),
    ).toBe('me');
  });
});
