/**
 * The one openapi-fetch middleware every generated client carries: what a call between services
 * needs besides its types, in one place.
 *
 * - `X-Request-Id`: the id of the request being served (`requestContext` of `@cinema/logging`),
 *   so one id follows a request through every service's access log; a new UUID outside a request.
 *   The same id on every attempt. A caller's own header wins.
 * - Trace context: a CLIENT span per call (`GET /api/v1/auth/users`, covering its retries) whose
 *   context goes out through `@opentelemetry/api`'s propagator (W3C `traceparent`/`tracestate`
 *   with the platform's SDK; nothing without one). A caller's own `traceparent` wins. The span is
 *   the active one while each attempt is sent (`inCallContext`), so when an instrumentation of
 *   Node's fetch is subscribed (OpenTelemetry's undici instrumentation: a span per attempt, and it
 *   *adds* its own `traceparent`), that one propagates, as a child of the call's span: two
 *   `traceparent` headers would break the trace at the receiving service.
 * - A timeout per attempt (`timeoutMs`; it bounds the whole answer, body included; 0 = none, for
 *   streams), combined with the caller's `signal`.
 * - Retries of idempotent methods only (GET, HEAD, OPTIONS, PUT, DELETE, TRACE): after a network
 *   error or a timeout, or an answer 408, 429, 502, 503 or 504; at most `retries` more attempts,
 *   exponential backoff with full jitter, a `Retry-After` (seconds or an HTTP date) honoured up to
 *   `maxRetryAfterMs` (a longer wait is not retried: the answer goes back to the caller). A POST or
 *   PATCH is sent once. A caller's abort is never retried.
 * - A call that gets no answer at all fails with `UnreachableError` (after its retries).
 */
import { randomUUID } from 'node:crypto';
import { channel } from 'node:diagnostics_channel';
import {
  context,
  propagation,
  SpanKind,
  SpanStatusCode,
  trace,
  type Context,
  type Span,
} from '@opentelemetry/api';
import { requestContext } from '@cinema/logging';
import type { Middleware } from 'openapi-fetch';

export interface CallPolicy {
  /** Milliseconds per attempt, the answer's body included; 0 disables it. Default 10 000. */
  timeoutMs: number;
  /** Further attempts of an idempotent call. Default 2. */
  retries: number;
  /** The first backoff; doubled per attempt, with full jitter, up to `maxBackoffMs`. Default 200. */
  backoffMs: number;
  /** Default 2 000. */
  maxBackoffMs: number;
  /** The longest `Retry-After` waited for; a longer one is not retried. Default 5 000. */
  maxRetryAfterMs: number;
}

export const DEFAULT_POLICY: Readonly<CallPolicy> = Object.freeze({
  timeoutMs: 10_000,
  retries: 2,
  backoffMs: 200,
  maxBackoffMs: 2_000,
  maxRetryAfterMs: 5_000,
});

export const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);
export const RETRYABLE_STATUS = new Set([408, 429, 502, 503, 504]);

/** No answer from the service (connection refused or reset, DNS, timeout), after the retries. */
export class UnreachableError extends Error {
  override readonly name = 'UnreachableError';
  constructor(
    readonly method: string,
    /** Without the query string (it may carry secrets). */
    readonly url: string,
    readonly attempts: number,
    readonly timedOut: boolean,
    options?: { cause?: unknown },
  ) {
    super(
      `${method} ${url}: ${timedOut ? 'no answer in time' : 'unreachable'} (${attempts} attempt${attempts === 1 ? '' : 's'})`,
      options,
    );
  }
}

/** `Retry-After` in milliseconds (delta-seconds or an HTTP date), undefined when absent or bad. */
export function retryAfterMs(value: string | null, now = Date.now()): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Full-jitter exponential backoff before attempt `n` (1 = the first retry). */
export function backoffMs(n: number, policy: CallPolicy, random = Math.random): number {
  return Math.floor(random() * Math.min(policy.maxBackoffMs, policy.backoffMs * 2 ** (n - 1)));
}

const urlOf = (request: Request) => {
  const url = new URL(request.url);
  return `${url.origin}${url.pathname}`;
};

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

interface Call {
  method: string;
  url: string;
  span: Span;
  /** The caller's context with `span` active. */
  context: Context;
  /** The caller's signal (the request's own, before the timeout was added). */
  signal: AbortSignal;
  /** An unsent copy of the request, kept for the retries of an idempotent call. */
  template?: Request;
  attempts: number;
  timedOut: boolean;
  /** A retry already produced the final answer (onError recovered it). */
  settled: boolean;
}

const tracer = trace.getTracer('@cinema/clients');
const setter = { set: (headers: Headers, key: string, value: string) => headers.set(key, value) };

/** Node's fetch announces each request here; OpenTelemetry's undici instrumentation listens. */
const undiciRequests = channel('undici:request:create');

/**
 * Each attempt's timeout signal, kept alive by the combined signal the attempt is sent with.
 * Node holds the sources of `AbortSignal.any` weakly and a timeout signal's timer holds only a
 * weak reference to it: a garbage collection during the wait dropped the timeout, and a hung
 * service was then waited for forever (nodejs/node#57736; reproduced with `--expose-gc`).
 */
const timeouts = new WeakMap<AbortSignal, AbortSignal>();

/** The context (the call's span) each attempt is sent in. */
const callContexts = new WeakMap<Request, Context>();

/** `fetch` that sends each attempt of a call with the call's span active. */
export function inCallContext(
  fetch: (request: Request) => Promise<Response>,
): (request: Request) => Promise<Response> {
  return (request) => {
    const ctx = callContexts.get(request);
    return ctx ? context.with(ctx, () => fetch(request)) : fetch(request);
  };
}

export function resilience(policy: CallPolicy = DEFAULT_POLICY): Middleware {
  const calls = new Map<string, Call>();

  /** The caller's signal, and the attempt's timeout when there is one. */
  const signalOf = (call: Call) => {
    if (!policy.timeoutMs) return call.signal;
    const timeout = AbortSignal.timeout(policy.timeoutMs);
    const signal = AbortSignal.any([call.signal, timeout]);
    timeouts.set(signal, timeout);
    return signal;
  };
  /** An attempt, sent in the call's context. */
  const attempt = (call: Call, request: Request) => {
    callContexts.set(request, call.context);
    return request;
  };
  /** A retry: a fresh copy of the template, with its own timeout. */
  const attemptOf = (call: Call) =>
    attempt(call, new Request(call.template!.clone(), { signal: signalOf(call) }));

  const finish = (id: string, call: Call, outcome: { status?: number; error?: unknown }) => {
    calls.delete(id);
    const { span } = call;
    span.setAttribute('http.request.resend_count', call.attempts - 1);
    if (outcome.status !== undefined) {
      span.setAttribute('http.response.status_code', outcome.status);
      if (outcome.status >= 500) {
        span.setAttribute('error.type', String(outcome.status));
        span.setStatus({ code: SpanStatusCode.ERROR });
      }
    } else {
      const err = outcome.error as Error | undefined;
      span.setAttribute('error.type', err?.name ?? 'Error');
      span.setStatus({ code: SpanStatusCode.ERROR, message: err?.message });
    }
    span.end();
  };

  /**
   * Retries `call` (an attempt just failed with `error`, or answered `response`) while it may;
   * answers the last response, or throws when the last attempt got none.
   */
  async function retry(
    call: Call,
    fetch: (request: Request) => Promise<Response>,
    last: { response?: Response; error?: unknown },
  ): Promise<Response> {
    for (;;) {
      const { response, error } = last;
      let wait: number;
      if (response) {
        const after = retryAfterMs(response.headers.get('retry-after'));
        if (after !== undefined && after > policy.maxRetryAfterMs) return response;
        wait = after ?? backoffMs(call.attempts, policy);
        // Not awaited: cancelling a body that was tee'd (a cloned answer) waits for the other branch.
        response.body?.cancel().catch(() => undefined);
      } else {
        wait = backoffMs(call.attempts, policy);
      }
      call.span.addEvent('retry', {
        'http.request.resend_count': call.attempts,
        ...(response ? { 'http.response.status_code': response.status } : {}),
        ...(error ? { 'error.type': (error as Error).name ?? 'Error' } : {}),
      });
      await sleep(wait, call.signal);
      call.attempts++;
      try {
        const next = await fetch(attemptOf(call));
        call.timedOut = false;
        if (!RETRYABLE_STATUS.has(next.status) || call.attempts > policy.retries) return next;
        last = { response: next };
      } catch (err) {
        if (call.signal.aborted) throw err;
        call.timedOut = (err as Error)?.name === 'TimeoutError';
        if (call.attempts > policy.retries) {
          throw new UnreachableError(call.method, call.url, call.attempts, call.timedOut, {
            cause: err,
          });
        }
        last = { error: err };
      }
    }
  }

  return {
    onRequest({ request, schemaPath, id }) {
      const method = request.method.toUpperCase();
      const url = new URL(request.url);
      const span = tracer.startSpan(`${method} ${schemaPath}`, {
        kind: SpanKind.CLIENT,
        attributes: {
          'http.request.method': method,
          'url.full': `${url.origin}${url.pathname}`,
          'url.template': schemaPath,
          'server.address': url.hostname,
          'server.port': Number(url.port || (url.protocol === 'https:' ? 443 : 80)),
        },
      });
      if (!request.headers.has('x-request-id')) {
        request.headers.set('x-request-id', requestContext.getStore()?.requestId ?? randomUUID());
      }
      const ctx = trace.setSpan(context.active(), span);
      if (!request.headers.has('traceparent') && !undiciRequests.hasSubscribers) {
        propagation.inject(ctx, request.headers, setter);
      }
      const call: Call = {
        method,
        url: urlOf(request),
        span,
        context: ctx,
        signal: request.signal,
        attempts: 1,
        timedOut: false,
        settled: false,
      };
      // An unsent copy (with the body) for the retries.
      if (IDEMPOTENT.has(method) && policy.retries > 0) call.template = request.clone();
      calls.set(id, call);
      return attempt(
        call,
        policy.timeoutMs ? new Request(request, { signal: signalOf(call) }) : request,
      );
    },

    async onError({ error, id, options }) {
      const call = calls.get(id);
      if (!call) return undefined;
      if (call.signal.aborted) {
        finish(id, call, { error });
        return undefined; // the caller's own abort goes back as it is
      }
      call.timedOut = (error as Error)?.name === 'TimeoutError';
      try {
        if (!call.template) {
          throw new UnreachableError(call.method, call.url, call.attempts, call.timedOut, {
            cause: error,
          });
        }
        const response = await retry(call, options.fetch, { error });
        call.settled = true;
        return response;
      } catch (err) {
        finish(id, call, { error: err });
        return err instanceof Error ? err : new Error(String(err));
      }
    },

    async onResponse({ response, id, options }) {
      const call = calls.get(id);
      if (!call) return undefined;
      let final = response;
      if (
        !call.settled &&
        call.template &&
        RETRYABLE_STATUS.has(response.status) &&
        call.attempts <= policy.retries
      ) {
        try {
          final = await retry(call, options.fetch, { response });
        } catch (err) {
          finish(id, call, { error: err });
          throw err;
        }
      }
      finish(id, call, { status: final.status });
      return final === response ? undefined : final;
    },
  };
}
