/**
 * A child process preloaded with `@cinema/telemetry/register` (as every service is) exports its
 * spans over OTLP/HTTP to a receiver run by this test; the server span carries the request id,
 * and the logs carry the same trace id.
 */
import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';

const root = path.resolve(__dirname, '../../..');

function receiver() {
  const bodies: string[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.url === '/v1/traces') bodies.push(Buffer.concat(chunks).toString());
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  return new Promise<{ url: string; bodies: string[]; close: () => void }>((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        bodies,
        close: () => server.close(),
      }),
    ),
  );
}

it('exports server spans with service name and request id over OTLP/HTTP', async () => {
  const otlp = await receiver();
  const register = require.resolve('@cinema/telemetry/register', { paths: [root] });
  const child = spawn(
    process.execPath,
    ['--require', register, path.join(__dirname, 'fixtures/probe.js')],
    {
      cwd: root,
      env: {
        ...process.env,
        OTEL_SERVICE_NAME: 'telemetry-probe',
        OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  otlp.close();
  expect({ code, stderr }).toEqual({ code: 0, stderr: '' });

  const spans = otlp.bodies
    .map((b) => JSON.parse(b))
    .flatMap((doc) =>
      doc.resourceSpans.flatMap(
        (rs: {
          resource: { attributes: Array<{ key: string; value: { stringValue?: string } }> };
          scopeSpans: Array<{ spans: Array<Record<string, unknown>> }>;
        }) =>
          rs.scopeSpans.flatMap((ss) =>
            ss.spans.map((span) => ({
              ...span,
              service: rs.resource.attributes.find((a) => a.key === 'service.name')?.value
                .stringValue,
            })),
          ),
      ),
    );
  const server = spans.find(
    (s) => s.kind === 2 && JSON.stringify(s.attributes).includes('probe-req-1'),
  ) as
    | {
        traceId: string;
        service: string;
        name: string;
        attributes: Array<{ key: string; value: { stringValue?: string } }>;
      }
    | undefined;
  expect(server).toBeDefined();
  expect(server!.service).toBe('telemetry-probe');
  // Named by the route template (set by @cinema/http, no Express instrumentation loaded).
  expect(server!.name).toBe('GET /films/:id');
  expect(server!.attributes.find((a) => a.key === 'http.route')?.value.stringValue).toBe(
    '/films/:id',
  );

  const access = stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l))
    .find((l) => l['http.request.id'] === 'probe-req-1' && l.res);
  expect(access).toBeDefined();
  expect(access['trace.id']).toBe(server!.traceId);
});

it('without an exporter the SDK still makes spans: trace ids in the logs, traceparent passed on', async () => {
  const register = require.resolve('@cinema/telemetry/register', { paths: [root] });
  const child = spawn(
    process.execPath,
    ['--require', register, path.join(__dirname, 'fixtures/probe.js')],
    {
      cwd: root,
      env: {
        ...process.env,
        OTEL_SERVICE_NAME: 'telemetry-probe',
        OTEL_EXPORTER_OTLP_ENDPOINT: '',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: '',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  expect(await new Promise<number | null>((resolve) => child.on('exit', resolve))).toBe(0);
  const access = stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .find((l) => l['http.request.id'] === 'probe-req-1' && l.res);
  expect(access?.['trace.id']).toMatch(/^[0-9a-f]{32}$/);
});

it('a bad OTEL_NODE_DISABLED_INSTRUMENTATIONS stops the process at start with exit 78', async () => {
  const register = require.resolve('@cinema/telemetry/register', { paths: [root] });
  const child = spawn(process.execPath, ['--require', register, '-e', 'console.log("served")'], {
    cwd: root,
    env: { ...process.env, OTEL_NODE_DISABLED_INSTRUMENTATIONS: 'http,kafkajs' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  expect(await new Promise<number | null>((resolve) => child.on('exit', resolve))).toBe(78);
  expect(stdout).toBe('');
  expect(JSON.parse(stderr)).toMatchObject({ message: expect.stringMatching(/unknown kafkajs/) });
});
