/**
 * The generated clients' runtime (openapi-fetch + the resilience middleware), driven through a
 * scripted fetch: each test says what the "service" answers to each attempt and checks what was
 * sent and what the caller gets.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { requestContext } from '@cinema/logging';
import {
  backoffMs,
  createServiceClient,
  DEFAULT_POLICY,
  ProblemError,
  retryAfterMs,
  unwrap,
  UnreachableError,
  type ProblemDetails,
  type Schemas,
  type ServiceClientOptions,
} from './index';

type Answer = Response | Error | 'hang';
const problem = (status: number, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify({ type: 'about:blank', title: `status ${status}`, status }), {
    status,
    headers: { 'content-type': 'application/problem+json', ...headers },
  });
const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

/** A fetch answering `answers` in turn (the last one repeats), recording every request sent. */
function script(...answers: Answer[]) {
  const sent: { request: Request; body: string }[] = [];
  const fetch = async (request: Request): Promise<Response> => {
    sent.push({ request, body: await request.clone().text() });
    const answer = answers[Math.min(sent.length - 1, answers.length - 1)]!;
    if (answer === 'hang') {
      if (request.signal.aborted) throw request.signal.reason;
      return new Promise((_, reject) => {
        request.signal.addEventListener('abort', () => reject(request.signal.reason), {
          once: true,
        });
      });
    }
    if (answer instanceof Error) throw answer;
    return answer.clone();
  };
  return { fetch, sent };
}

const FAST = { backoffMs: 1, maxBackoffMs: 2 };
const auth = (fetch: ServiceClientOptions['fetch'], options: Partial<ServiceClientOptions> = {}) =>
  createServiceClient('auth', { baseUrl: 'http://auth.test/', fetch, ...FAST, ...options });
const users = { items: [], total: 0 };
const listUsers = (client: ReturnType<typeof auth>) =>
  client.GET('/api/v1/auth/users', {
    params: { query: { page: 2, pageSize: 50 } },
    headers: { authorization: 'Bearer t' },
  });

describe('a generated client', () => {
  it('sends the typed call and answers typed data', async () => {
    const { fetch, sent } = script(json(users));
    const { data, error, response } = await listUsers(auth(fetch));
    expect(response.status).toBe(200);
    expect(error).toBeUndefined();
    const page: Schemas<'auth'>['UserListPage'] | undefined = data;
    expect(page).toEqual(users);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.request.method).toBe('GET');
    expect(sent[0]!.request.url).toBe('http://auth.test/api/v1/auth/users?page=2&pageSize=50');
    expect(sent[0]!.request.headers.get('authorization')).toBe('Bearer t');
  });

  it('types an error answer as ProblemDetails; unwrap throws it as a ProblemError', async () => {
    const { fetch } = script(problem(403, { 'x-request-id': 'r-403' }));
    const client = auth(fetch);
    const { error, response } = await listUsers(client);
    expect(response.status).toBe(403);
    const details: ProblemDetails | undefined = error;
    expect(details).toMatchObject({ status: 403, title: 'status 403' });
    const thrown = await unwrap(listUsers(client)).catch((err: unknown) => err);
    expect(thrown).toBeInstanceOf(ProblemError);
    expect(thrown).toMatchObject({ status: 403, requestId: 'r-403', problem: { status: 403 } });
  });

  it('makes a problem of an error answer that is not one (a proxy page)', async () => {
    const { fetch } = script(new Response('<html>bad gateway</html>', { status: 500 }));
    const thrown = await unwrap(listUsers(auth(fetch))).catch((err: unknown) => err);
    expect(thrown).toMatchObject({ status: 500, problem: { status: 500, type: 'about:blank' } });
  });
});

describe('X-Request-Id', () => {
  it('is the id of the request being served', async () => {
    const { fetch, sent } = script(json(users));
    await requestContext.run({ requestId: 'req-42' }, () => listUsers(auth(fetch)));
    expect(sent[0]!.request.headers.get('x-request-id')).toBe('req-42');
  });

  it('is a new UUID outside a request, the same on every attempt', async () => {
    const { fetch, sent } = script(problem(503), json(users));
    await listUsers(auth(fetch));
    expect(sent).toHaveLength(2);
    const ids = sent.map((s) => s.request.headers.get('x-request-id'));
    expect(ids[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(ids[1]).toBe(ids[0]);
  });

  it("is the caller's own when given", async () => {
    const { fetch, sent } = script(json(users));
    await auth(fetch).GET('/api/v1/auth/users', { headers: { 'x-request-id': 'mine' } });
    expect(sent[0]!.request.headers.get('x-request-id')).toBe('mine');
  });
});

describe('retries', () => {
  it('retry an idempotent call after 408/429/502/503/504 and a network error, bounded', async () => {
    for (const status of [408, 429, 502, 503, 504]) {
      const { fetch, sent } = script(problem(status), new TypeError('fetch failed'), json(users));
      const { data } = await listUsers(auth(fetch));
      expect({ status, data, attempts: sent.length }).toEqual({ status, data: users, attempts: 3 });
    }
    for (const status of [400, 404, 500]) {
      const { fetch, sent } = script(problem(status), json(users));
      const { error } = await listUsers(auth(fetch));
      expect({ status: error?.status, attempts: sent.length }).toEqual({ status, attempts: 1 });
    }

    const always = script(problem(429));
    const { error, response } = await listUsers(auth(always.fetch, { retries: 3 }));
    expect(response.status).toBe(429);
    expect(error).toMatchObject({ status: 429 });
    expect(always.sent).toHaveLength(4); // 1 + 3 retries, then the answer goes back
  });

  it('never retry a POST (not idempotent): one attempt, whatever happens', async () => {
    const busy = script(problem(503), json({}));
    const { response } = await auth(busy.fetch).POST('/api/v1/auth/login', {
      body: { email: 'a@b.c', password: 'p' },
    });
    expect(response.status).toBe(503);
    expect(busy.sent).toHaveLength(1);

    const down = script(new TypeError('fetch failed'));
    const thrown = await auth(down.fetch)
      .POST('/api/v1/auth/login', { body: { email: 'a@b.c', password: 'p' } })
      .catch((err: unknown) => err);
    expect(thrown).toBeInstanceOf(UnreachableError);
    expect(thrown).toMatchObject({ attempts: 1, timedOut: false, method: 'POST' });
    expect(down.sent).toHaveLength(1);
  });

  it('resend the body of a PUT', async () => {
    const { fetch, sent } = script(new TypeError('reset'), json({}));
    const client = createServiceClient('ugc-api', { baseUrl: 'http://ugc.test', fetch, ...FAST });
    await client.PUT('/api/v1/ugc/ratings/{filmId}', {
      params: { path: { filmId: '1b4e28ba-2fa1-11d2-883f-0016d3cca427' } },
      body: { score: 7 },
    });
    expect(sent.map((s) => [s.request.method, s.body])).toEqual([
      ['PUT', '{"score":7}'],
      ['PUT', '{"score":7}'],
    ]);
  });

  it('honour Retry-After up to maxRetryAfterMs; a longer one goes back to the caller', async () => {
    const soon = script(problem(503, { 'retry-after': '1' }), json(users));
    const started = Date.now();
    const { data } = await listUsers(auth(soon.fetch));
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(data).toEqual(users);

    const later = script(problem(429, { 'retry-after': '30' }), json(users));
    const t0 = Date.now();
    const { error } = await listUsers(auth(later.fetch));
    expect(Date.now() - t0).toBeLessThan(500);
    expect(later.sent).toHaveLength(1);
    expect(error).toMatchObject({ status: 429 });
  });

  it('end in UnreachableError when no attempt got an answer', async () => {
    const { fetch, sent } = script(new TypeError('connect ECONNREFUSED'));
    const thrown = await listUsers(auth(fetch)).catch((err: unknown) => err);
    expect(thrown).toBeInstanceOf(UnreachableError);
    expect(thrown).toMatchObject({
      attempts: 3,
      timedOut: false,
      url: 'http://auth.test/api/v1/auth/users',
    });
    expect((thrown as Error).message).not.toMatch(/page=/); // no query string (secrets)
    expect(sent).toHaveLength(3);
  });

  it('pick a full-jitter exponential backoff and read both forms of Retry-After', () => {
    expect(backoffMs(1, DEFAULT_POLICY, () => 0.999)).toBe(199);
    expect(backoffMs(3, DEFAULT_POLICY, () => 0.5)).toBe(400);
    expect(backoffMs(10, DEFAULT_POLICY, () => 0.999)).toBe(1998);
    expect(retryAfterMs('3')).toBe(3000);
    expect(retryAfterMs(new Date(10_000).toUTCString(), 4_000)).toBe(6_000);
    expect(retryAfterMs('soon')).toBeUndefined();
    expect(retryAfterMs(null)).toBeUndefined();
  });
});

describe('timeouts and aborts', () => {
  it('time out each attempt, retry, then report the timeout', async () => {
    const { fetch, sent } = script('hang');
    const started = Date.now();
    const thrown = await listUsers(auth(fetch, { timeoutMs: 100, retries: 1 })).catch(
      (err: unknown) => err,
    );
    const elapsed = Date.now() - started;
    expect(thrown).toBeInstanceOf(UnreachableError);
    expect(thrown).toMatchObject({ attempts: 2, timedOut: true });
    expect(sent).toHaveLength(2);
    expect(elapsed).toBeGreaterThanOrEqual(190);
    expect(elapsed).toBeLessThan(2_000);
  });

  it('time out even when the garbage collector runs during the wait', async () => {
    // Node holds AbortSignal.any's sources weakly (nodejs/node#57736): without the client's own
    // reference a collection dropped the timeout and this call hung forever.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const { fetch, sent } = script('hang');
    // One full collection as each attempt starts waiting.
    let collected = 0;
    const collecting = setInterval(() => {
      if (collected < sent.length) {
        collected = sent.length;
        gc();
      }
    }, 10);
    try {
      const thrown = await listUsers(auth(fetch, { timeoutMs: 100, retries: 1 })).catch(
        (err: unknown) => err,
      );
      expect(thrown).toMatchObject({ attempts: 2, timedOut: true });
      expect(sent).toHaveLength(2);
    } finally {
      clearInterval(collecting);
    }
  });

  it('a slow first attempt is retried and the second answer is used', async () => {
    const { fetch, sent } = script('hang', json(users));
    const { data } = await listUsers(auth(fetch, { timeoutMs: 100 }));
    expect(data).toEqual(users);
    expect(sent).toHaveLength(2);
  });

  it("never retry the caller's abort", async () => {
    const { fetch, sent } = script('hang');
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const thrown = await auth(fetch)
      .GET('/api/v1/auth/users', { signal: controller.signal })
      .catch((err: unknown) => err);
    expect((thrown as Error).name).toBe('AbortError');
    expect(sent).toHaveLength(1);
  });
});

describe('trace context', () => {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const manager = new AsyncLocalStorageContextManager();
  beforeAll(() => {
    manager.enable();
    context.setGlobalContextManager(manager);
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    trace.setGlobalTracerProvider(provider);
  });
  afterAll(() => {
    trace.disable();
    propagation.disable();
    context.disable();
  });

  it("goes out as traceparent: the active span's trace, a client span per call", async () => {
    const { fetch, sent } = script(problem(503), json(users));
    const parent = provider.getTracer('test').startSpan('incoming request');
    await context.with(trace.setSpan(context.active(), parent), () => listUsers(auth(fetch)));
    parent.end();

    const [client] = exporter.getFinishedSpans().filter((s) => s.name.startsWith('GET'));
    expect(client).toBeDefined();
    expect(client!.name).toBe('GET /api/v1/auth/users');
    expect(client!.spanContext().traceId).toBe(parent.spanContext().traceId);
    expect(client!.parentSpanId).toBe(parent.spanContext().spanId);
    expect(client!.attributes).toMatchObject({
      'http.request.method': 'GET',
      'url.template': '/api/v1/auth/users',
      'http.response.status_code': 200,
      'http.request.resend_count': 1,
    });
    const expected = `00-${parent.spanContext().traceId}-${client!.spanContext().spanId}-01`;
    expect(sent.map((s) => s.request.headers.get('traceparent'))).toEqual([expected, expected]);
  });

  it('sends each attempt with the call span active; leaves propagation to a fetch instrumentation', async () => {
    exporter.reset();
    const active: (string | undefined)[] = [];
    const { fetch, sent } = script(problem(502), json(users));
    const seeing = async (request: Request) => {
      active.push(trace.getActiveSpan()?.spanContext().spanId);
      return fetch(request);
    };
    // OpenTelemetry's undici instrumentation subscribes here, and adds its own traceparent.
    const onRequest = () => undefined;
    subscribe('undici:request:create', onRequest);
    try {
      await listUsers(auth(seeing));
    } finally {
      unsubscribe('undici:request:create', onRequest);
    }
    const [client] = exporter.getFinishedSpans().filter((s) => s.name.startsWith('GET'));
    expect(active).toEqual([client!.spanContext().spanId, client!.spanContext().spanId]);
    expect(sent.map((s) => s.request.headers.get('traceparent'))).toEqual([null, null]);
  });

  it("leaves a caller's own traceparent alone", async () => {
    const { fetch, sent } = script(json(users));
    const mine = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    await auth(fetch).GET('/api/v1/auth/users', { headers: { traceparent: mine } });
    expect(sent[0]!.request.headers.get('traceparent')).toBe(mine);
  });
});
