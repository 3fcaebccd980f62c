import { Writable } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { ValidateError } from '@tsoa/runtime';
import request from 'supertest';
import { createLogger } from '@cinema/logging';
import {
  ConflictError,
  createApp,
  Lifecycle,
  listen,
  ServiceUnavailableError,
  TooManyRequestsError,
} from './index';

function setup(extra: Partial<Parameters<typeof createApp>[0]> = {}) {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _e, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  const logger = createLogger({ service: 'test', destination, level: 'debug' });
  const app = createApp({
    name: 'test',
    logger,
    corsOrigins: ['https://app.example'],
    bodyLimit: '1kb',
    routes: (a) => {
      a.post('/echo', (req, res) => {
        res.json(req.body);
      });
      a.get('/invalid', () => {
        throw new ValidateError(
          { 'query.limit': { message: 'must be at most 100', value: 1000 } },
          'bad',
        );
      });
      a.get('/conflict', () => {
        throw new ConflictError('already bookmarked');
      });
      a.get('/limited', () => {
        throw new TooManyRequestsError('slow down', 42);
      });
      a.get('/down', () => {
        throw new ServiceUnavailableError('kafka unreachable', 7);
      });
      a.get('/boom', () => {
        throw new Error('secret internals');
      });
    },
    ...extra,
  });
  return { app, lines };
}

describe('createApp', () => {
  it('answers tsoa validation errors with 422 problem+json naming the field', async () => {
    const res = await request(setup().app).get('/invalid');
    expect(res.status).toBe(422);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(JSON.parse(res.text)).toMatchObject({
      status: 422,
      title: 'Unprocessable Content',
      errors: { 'query.limit': { message: 'must be at most 100', value: 1000 } },
    });
  });

  it('maps named domain errors, with Retry-After where it applies', async () => {
    const { app } = setup();
    const conflict = await request(app).get('/conflict');
    expect(conflict.status).toBe(409);
    expect(JSON.parse(conflict.text)).toMatchObject({
      title: 'Conflict',
      detail: 'already bookmarked',
      instance: '/conflict',
    });
    const limited = await request(app).get('/limited');
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toBe('42');
    const down = await request(app).get('/down');
    expect(down.status).toBe(503);
    expect(down.headers['retry-after']).toBe('7');
    expect(JSON.parse(down.text).errorId).toEqual(expect.any(String));
  });

  it('hides unexpected errors behind a 500 with an errorId that is logged', async () => {
    const { app, lines } = setup();
    const res = await request(app).get('/boom');
    expect(res.status).toBe(500);
    const body = JSON.parse(res.text);
    expect(res.text).not.toContain('secret internals');
    expect(body.errorId).toMatch(/^[0-9a-f-]{36}$/);
    const logged = lines.find((l) => l.errorId === body.errorId);
    expect(logged).toBeDefined();
    expect(JSON.stringify(logged)).toContain('secret internals');
  });

  it('answers malformed and oversize JSON with 400 and 413', async () => {
    const { app } = setup();
    const bad = await request(app)
      .post('/echo')
      .set('content-type', 'application/json')
      .send('{"a":');
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.text).detail).toBe('the body is not valid JSON');
    const big = await request(app)
      .post('/echo')
      .send({ text: 'x'.repeat(5000) });
    expect(big.status).toBe(413);
    expect(big.headers['content-type']).toMatch(/problem\+json/);
  });

  it('answers unknown routes with a 404 problem', async () => {
    const res = await request(setup().app).get('/nope?x=1');
    expect(res.status).toBe(404);
    expect(JSON.parse(res.text)).toMatchObject({ status: 404, instance: '/nope?x=1' });
  });

  it('keeps a well-formed X-Request-Id, replaces a malformed one, and logs it', async () => {
    const { app, lines } = setup();
    const kept = await request(app).post('/echo').set('X-Request-Id', 'abc-123').send({ a: 1 });
    expect(kept.headers['x-request-id']).toBe('abc-123');
    expect(lines.some((l) => l['http.request.id'] === 'abc-123')).toBe(true);
    const replaced = await request(app).get('/conflict').set('X-Request-Id', 'bad id\twith spaces');
    expect(replaced.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('keeps secret query values out of the access log', async () => {
    const { app, lines } = setup();
    await request(app).get('/conflict?token=s3cr3t-link&page=2&oauth%5Fcode=abc&x=1').expect(409);
    const access = lines.filter((l) => (l.req as { url?: string } | undefined)?.url);
    expect(access).toHaveLength(1);
    const text = JSON.stringify(access[0]);
    expect(text).not.toContain('s3cr3t-link');
    expect(text).not.toContain('abc');
    expect((access[0]!.req as { url: string }).url).toBe(
      '/conflict?token=[redacted]&page=2&oauth%5Fcode=[redacted]&x=1',
    );
  });

  it('allows CORS only for configured origins', async () => {
    const { app } = setup();
    const ok = await request(app)
      .options('/echo')
      .set('Origin', 'https://app.example')
      .set('Access-Control-Request-Method', 'POST');
    expect(ok.headers['access-control-allow-origin']).toBe('https://app.example');
    const no = await request(app)
      .options('/echo')
      .set('Origin', 'https://evil.example')
      .set('Access-Control-Request-Method', 'POST');
    expect(no.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('reports health, readiness per dependency and metrics', async () => {
    let dbUp = true;
    const { app } = setup({
      readiness: {
        postgres: async () => {
          if (!dbUp) throw new Error('connection refused');
        },
        redis: async () => undefined,
      },
    });
    expect((await request(app).get('/healthz')).body).toEqual({ status: 'ok' });
    const ready = await request(app).get('/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body.checks).toEqual({ postgres: { status: 'up' }, redis: { status: 'up' } });
    dbUp = false;
    const notReady = await request(app).get('/readyz');
    expect(notReady.status).toBe(503);
    expect(JSON.parse(notReady.text)).toMatchObject({
      status: 503,
      detail: 'not ready: postgres',
      checks: { postgres: { status: 'down', error: 'connection refused' } },
    });
    await request(app).get('/conflict');
    const metrics = await request(app).get('/metrics');
    expect(metrics.text).toMatch(
      /http_server_request_duration_seconds_count\{method="GET",route="\/conflict",status="409"\} 1/,
    );
    expect(metrics.text).toContain('process_resident_memory_bytes');
  });
});

describe('graceful shutdown', () => {
  it('lets in-flight requests finish, then closes adapters in reverse order', async () => {
    const logger = createLogger({
      service: 't',
      destination: new Writable({ write: (_c, _e, d) => d() }),
    });
    const lifecycle = new Lifecycle(logger, 5000);
    const order: string[] = [];
    lifecycle.onShutdown('postgres', () => {
      order.push('postgres');
    });
    lifecycle.onShutdown('kafka', async () => {
      order.push('kafka');
    });
    const app = createApp({
      name: 't',
      logger,
      lifecycle,
      routes: (a) =>
        a.get('/slow', (_req, res) => {
          setTimeout(() => res.json({ done: true }), 300);
        }),
    });
    const server = await listen(app, { port: 0, lifecycle, logger, name: 't' });
    const { port } = server.address() as AddressInfo;
    const inFlight = fetch(`http://127.0.0.1:${port}/slow`).then((r) => r.json());
    await new Promise((r) => setTimeout(r, 50));
    const stopping = lifecycle.shutdown('test');
    order.push('shutdown-called');
    expect(await inFlight).toEqual({ done: true });
    await stopping;
    expect(order).toEqual(['shutdown-called', 'kafka', 'postgres']);
    await expect(fetch(`http://127.0.0.1:${port}/slow`)).rejects.toThrow();
  });

  it('fail(): drains like a shutdown, then exits 1 (the platform starts a new process)', async () => {
    const lines: string[] = [];
    const logger = createLogger({
      service: 't',
      destination: new Writable({
        write: (c: Buffer, _e, d) => {
          lines.push(c.toString());
          d();
        },
      }),
    });
    const lifecycle = new Lifecycle(logger, 5000);
    const closed: string[] = [];
    lifecycle.onShutdown('kafka', () => {
      closed.push('kafka');
    });
    const code = await new Promise<number>((resolve) =>
      lifecycle.fail('the consumer stopped for good', new Error('no coordinator'), resolve),
    );
    expect(code).toBe(1);
    expect(closed).toEqual(['kafka']);
    expect(lifecycle.shuttingDown).toBe(true);
    expect(lines.join('')).toMatch(/"reason":"the consumer stopped for good"/);
  });

  it('answers 503 on /readyz once shutting down', async () => {
    const logger = createLogger({
      service: 't',
      destination: new Writable({ write: (_c, _e, d) => d() }),
    });
    const lifecycle = new Lifecycle(logger);
    const app = createApp({ name: 't', logger, lifecycle, routes: () => undefined });
    lifecycle.shuttingDown = true;
    expect((await request(app).get('/readyz')).status).toBe(503);
  });
});
