/**
 * OpenTelemetry's active context, kept in the same AsyncLocalStorage as the request id of
 * `@cinema/logging` (`requestContext`) instead of a storage of its own.
 *
 * Why: on Node 20 every enabled AsyncLocalStorage copies its value onto every promise and async
 * resource the process creates, so a second one costs each request a little on every `await`,
 * in Express, body parsing and the drivers alike (docs/benchmarks.md, "One async storage").
 * OpenTelemetry's `context.with` and the request id's `requestContext.run` each keep the other's
 * value: a store holds both.
 */
import { ROOT_CONTEXT, type Context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { requestContext, type RequestContext } from '@cinema/logging';

const OTEL_CONTEXT = Symbol('opentelemetry.context');
type Store = RequestContext & { [OTEL_CONTEXT]?: Context };

/**
 * AsyncLocalStorageContextManager on the shared storage: its `bind` (functions and event
 * emitters) comes from the parent and goes through `with`; the parent's own storage is never run,
 * so Node never enables it.
 */
export class SharedContextManager extends AsyncLocalStorageContextManager {
  override active(): Context {
    return (requestContext.getStore() as Store | undefined)?.[OTEL_CONTEXT] ?? ROOT_CONTEXT;
  }

  override with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    context: Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    const callback = thisArg == null ? fn : (fn.bind(thisArg) as F);
    const store: Store = { ...requestContext.getStore(), [OTEL_CONTEXT]: context };
    return requestContext.run(store, callback, ...args);
  }

  /** The storage is shared with the logs' request id: leaving it is enough. */
  override disable(): this {
    return this;
  }
}
