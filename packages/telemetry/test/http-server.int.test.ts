/**
 * traceIncomingRequests on a real loopback server: the span's parent from `traceparent`, its
 * attributes, its name from the matched route, errors, probes left out, a request the client
 * abandons, and the span active in code that runs after the body was read.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import {
  shutdownTelemetry,
  SpanCollector,
  startTelemetry,
  traceIncomingRequests,
} from '@cinema/telemetry';

const exporter = new SpanCollector();
let server: http.Server;
let base = '';
const activeInHandler = new Map<string, string | undefined>();

beforeAll(async () => {
  // The test's fetch calls untraced, so the traceparent they send is the test's own; the
  // server's span does not need the HTTP instrumentation either.
  process.env.OTEL_NODE_DISABLED_INSTRUMENTATIONS = 'undici,http';
  startTelemetry({ serviceName: 'http-server-test', exporter });
  delete process.env.OTEL_NODE_DISABLED_INSTRUMENTATIONS;
  const middleware = traceIncomingRequests();
  server = http.createServer((req, res) => {
    middleware(req, res, () => {
      const url = req.url ?? '';
      if (url.startsWith('/films/')) {
        // What Express leaves on the request once a route matched.
        Object.assign(req, { route: { path: '/films/:id' }, baseUrl: '/api' });
        let body = '';
        req.on('data', (c: Buffer) => (body += c.toString()));
        req.on('end', () => {
          setTimeout(() => {
            activeInHandler.set(body, trace.getActiveSpan()?.spanContext().spanId);
            res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
          }, 5);
        });
      } else if (url === '/boom') {
        res.writeHead(503).end();
      } else if (url === '/slow') {
        // Never answers: the client gives up.
      } else {
        res.writeHead(200).end('ok');
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await shutdownTelemetry();
  trace.disable();
  context.disable();
  propagation.disable();
});

async function flushed(): Promise<ReadableSpan[]> {
  await shutdownTelemetry();
  return exporter.spans;
}

test('one server span per request, with its caller as parent, named by its route', async () => {
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  const callerSpan = '00f067aa0ba902b7';
  const big = 'x'.repeat(300_000); // several chunks: the context must survive reading them
  const ok = await fetch(`${base}/films/42?lang=en`, {
    method: 'POST',
    headers: { traceparent: `00-${traceId}-${callerSpan}-01`, 'user-agent': 'probe/1' },
    body: big,
  });
  expect(ok.status).toBe(200);
  expect((await fetch(`${base}/boom`)).status).toBe(503);
  expect((await fetch(`${base}/healthz`)).status).toBe(200);
  expect((await fetch(`${base}/readyz?x=1`)).status).toBe(200);
  const abandoned = new AbortController();
  const slow = fetch(`${base}/slow`, { signal: abandoned.signal }).catch((e: Error) => e.name);
  await new Promise((r) => setTimeout(r, 200));
  abandoned.abort();
  expect(await slow).toBe('AbortError');
  await new Promise((r) => setTimeout(r, 200));

  const spans = await flushed();
  expect(spans.every((s) => s.kind === SpanKind.SERVER)).toBe(true);
  expect(spans.map((s) => s.name).sort()).toEqual(['GET', 'GET', 'POST /api/films/:id']);
  const film = spans.find((s) => s.name === 'POST /api/films/:id')!;
  expect(film.spanContext().traceId).toBe(traceId);
  expect(film.parentSpanId).toBe(callerSpan);
  expect(film.attributes).toMatchObject({
    'http.request.method': 'POST',
    'url.path': '/films/42',
    'url.scheme': 'http',
    'http.route': '/api/films/:id',
    'http.response.status_code': 200,
    'server.address': '127.0.0.1',
    'client.address': '127.0.0.1',
    'user_agent.original': 'probe/1',
  });
  expect(film.status.code).toBe(SpanStatusCode.UNSET);
  // The handler, after the body's chunks and a timer, ran inside the request's span.
  expect([...activeInHandler.keys()].map((k) => k.length)).toEqual([big.length]);
  expect(activeInHandler.get(big)).toBe(film.spanContext().spanId);

  const boom = spans.find((s) => s.attributes['url.path'] === '/boom')!;
  expect(boom.status.code).toBe(SpanStatusCode.ERROR);
  expect(boom.attributes['error.type']).toBe('503');
  const gone = spans.find((s) => s.attributes['url.path'] === '/slow')!;
  expect(gone.status.code).toBe(SpanStatusCode.ERROR);
  expect(gone.attributes['error.type']).toBe('aborted');
  // Probes: no span at all.
  expect(spans.some((s) => String(s.attributes['url.path']).match(/healthz|readyz/))).toBe(false);
});
