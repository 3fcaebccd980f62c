/**
 * A body that arrives after the app started reading it (slow client, large body): the code after
 * body parsing still runs in the request's context: its log lines carry the request id and the
 * trace id of the request's server span. On a real loopback socket, with the OpenTelemetry SDK.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { context, propagation, trace } from '@opentelemetry/api';
import { createLogger } from '@cinema/logging';
import { shutdownTelemetry, SpanCollector, startTelemetry } from '@cinema/telemetry';
import { createApp, Lifecycle, listen } from '../src';

afterAll(async () => {
  await shutdownTelemetry();
  trace.disable();
  context.disable();
  propagation.disable();
});

test('a slow body keeps the request id and the server span in what runs after parsing', async () => {
  const exporter = new SpanCollector();
  startTelemetry({ serviceName: 'context-test', exporter });
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _e, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  const logger = createLogger({ service: 'context-test', destination, level: 'info' });
  const lifecycle = new Lifecycle(logger);
  const app = createApp({
    name: 'context-test',
    logger,
    lifecycle,
    routes: (a) =>
      a.post('/notes', (req, res) => {
        // Read by the handler itself (body-parser's raw-body binds its own callback; a stream
        // read, an upload or an SSE 'close' listener does not).
        let size = 0;
        req.on('data', (chunk: Buffer) => (size += chunk.length));
        req.on('end', () => {
          logger.info({ size }, 'note kept');
          res.status(201).json({ ok: true });
        });
      }),
  });
  const server = await listen(app, { port: 0, lifecycle, logger, name: 'context-test' });
  const { port } = server.address() as AddressInfo;
  try {
    const answer = await new Promise<{ status?: number; requestId: string }>((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/notes',
          headers: { 'content-type': 'application/octet-stream', 'x-request-id': 'slow-body-1' },
        },
        (res) => {
          res.resume();
          res.on('end', () =>
            resolve({ status: res.statusCode, requestId: String(res.headers['x-request-id']) }),
          );
        },
      );
      req.on('error', reject);
      // Half the body now, the rest after the handler is waiting for it.
      req.write('{"text":"');
      setTimeout(() => req.end('a slow note"}'), 150);
    });
    expect(answer).toEqual({ status: 201, requestId: 'slow-body-1' });
  } finally {
    await lifecycle.shutdown('done');
  }
  await shutdownTelemetry();
  const span = exporter.spans.find((s) => s.name === 'POST /notes');
  expect(span).toBeDefined();
  const kept = lines.find((l) => l.message === 'note kept');
  expect(kept).toMatchObject({
    'http.request.id': 'slow-body-1',
    'trace.id': span!.spanContext().traceId,
    size: 22,
  });
  expect(span!.attributes['http.request_id']).toBe('slow-body-1');
});
