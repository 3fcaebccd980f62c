/**
 * The hops that cross HTTP between services and RabbitMQ, in Jaeger: auth, catalog-admin and
 * notifications run as processes the way the platform runs them (`node --require
 * @cinema/telemetry/register dist/main.js`, OTLP to the stack's Jaeger).
 *   - A login through catalog-admin's panel: the panel's request, its outgoing fetch to auth
 *     (undici instrumentation, traceparent in the request) and auth's login request are one trace.
 *   - A registration at auth: the request writes user.registered to auth's outbox with its
 *     traceparent; the relay publishes it in that trace (amqplib publish span, traceparent in the
 *     AMQP headers) and notifications' consumer handles it in that trace too.
 * Own names: auth schema and events exchange, notifications schema and queues, a catalog database.
 */
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import request from 'supertest';
import { createPool } from '@cinema/pg';
import { startStack, type Stack } from '@cinema/stack';
import {
  authTestEnv,
  createSuperuser,
  shipServiceLogs,
  startServiceMain,
  suffix,
  waitFor,
  type ServiceProcess,
} from '@cinema/testing';

jest.setTimeout(600_000);

const root = path.resolve(__dirname, '..', '..');
const sfx = suffix();
const authEnv = authTestEnv(`hops_${sfx}`, {
  AUTH_MAIL: 'off',
  OUTBOX_POLL_MS: '100',
  DEMO_ADMIN_EMAIL: undefined,
});
const notifSchema = `notif_e2e_hops_${sfx}`;
const database = `catalog_e2e_hops_${sfx}`;
const admin = { email: `hops-admin-${sfx}@example.com`, password: 'admin password 12345' };

interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  processID: string;
  references?: Array<{ refType: string; spanID: string }>;
  tags: Array<{ key: string; value: unknown }>;
}
interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string }>;
}

let stack: Stack;
/** Trace id of each test's request, and the services that log within it. */
const traced: Array<{ traceId: string; services: string[] }> = [];
const procs: Record<string, ServiceProcess> = {};
const urls: Record<string, string> = {};
const dbUrl = (name: string) => {
  const url = new URL(process.env.DATABASE_URL!);
  url.pathname = `/${name}`;
  return url.toString();
};

/**
 * A service's build, run as the platform runs it (`node --require @cinema/telemetry/register
 * dist/main.js`, in the service's folder), ready or failing with its output.
 */
async function start(name: string, env: Record<string, string | undefined>) {
  procs[name] = await startServiceMain(
    path.join(root, 'services', name),
    {
      LOG_LEVEL: 'info',
      OTEL_SERVICE_NAME: name,
      OTEL_EXPORTER_OTLP_ENDPOINT: stack.env.OTEL_EXPORTER_OTLP_ENDPOINT,
      ...env,
    },
    { main: 'dist/main.js', nodeArgs: ['--require', '@cinema/telemetry/register'] },
  );
  urls[name] = procs[name].url;
}

beforeAll(async () => {
  stack = await startStack({ only: ['jaeger'] });
  const pool = createPool(process.env.DATABASE_URL!, { max: 1 });
  await pool.query(`CREATE DATABASE "${database}"`);
  await pool.end();
  // notifications first: its queue must be bound before auth publishes.
  await start('notifications', {
    DATABASE_URL: process.env.DATABASE_URL,
    AMQP_URL: process.env.AMQP_URL,
    SMTP_URL: process.env.SMTP_URL,
    NOTIFICATIONS_DB_SCHEMA: notifSchema,
    NOTIFICATIONS_QUEUE_PREFIX: `notifications.e2e.hops.${sfx}`,
    AUTH_EVENTS_EXCHANGE: authEnv.AUTH_EVENTS_EXCHANGE,
    CATALOG_EVENTS_EXCHANGE: `catalog.events.e2e.hops.${sfx}`,
    UGC_EVENTS_EXCHANGE: `ugc.events.e2e.hops.${sfx}`,
    AUTH_JWKS_URL: 'http://127.0.0.1:9/.well-known/jwks.json',
    UNSUBSCRIBE_SECRET: 'e2e-unsubscribe-secret-0123456789abcdef',
    RETRY_DELAYS_MS: '300,600',
  });
  await start('auth', authEnv);
  // The admin account, through auth's own CLI (as an operator makes one).
  createSuperuser(path.join(root, 'services/auth'), authEnv, admin, { build: true });
  await start('catalog-admin', {
    DATABASE_URL: dbUrl(database),
    AUTH_URL: urls.auth,
  });
});

afterAll(async () => {
  for (const p of Object.values(procs).reverse()) await p.stop();
  const pool = createPool(process.env.DATABASE_URL!, { max: 1 });
  await pool.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
  for (const schema of [authEnv.AUTH_DB_SCHEMA, notifSchema, `${notifSchema}_jobs`]) {
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  }
  await pool.end();
});

function newTrace(): { traceId: string; traceparent: string } {
  const traceId = randomBytes(16).toString('hex');
  return { traceId, traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` };
}

const serviceOf = (t: JaegerTrace, s: JaegerSpan) => t.processes[s.processID]?.serviceName;
const tag = (s: JaegerSpan, key: string) => s.tags.find((t) => t.key === key)?.value;
const seen = (t: JaegerTrace) => t.spans.map((s) => `${serviceOf(t, s)}:${s.operationName}`);

/** Waits until Jaeger's trace holds a span matching each of `expected` (service, test). */
async function traceWith(
  traceId: string,
  expected: Array<[string, (s: JaegerSpan) => boolean]>,
): Promise<JaegerTrace> {
  let last: JaegerTrace | undefined;
  try {
    await waitFor(
      async () => {
        const res = await fetch(`${stack.env.JAEGER_URL}/api/traces/${traceId}`);
        if (!res.ok) return false;
        last = ((await res.json()) as { data?: JaegerTrace[] }).data?.[0];
        return (
          last !== undefined &&
          expected.every(([svc, test]) =>
            last!.spans.some((s) => serviceOf(last!, s) === svc && test(s)),
          )
        );
      },
      90_000,
      `trace ${traceId}`,
    );
  } catch (err) {
    throw new Error(
      `${(err as Error).message}; spans seen: ${JSON.stringify(last ? seen(last) : [])}`,
    );
  }
  return last!;
}

it('a login through catalog-admin: the panel, its call to auth and auth are one trace', async () => {
  const { traceId, traceparent } = newTrace();
  const agent = request.agent(urls['catalog-admin']!);
  const page = await agent.get('/admin/login').expect(200);
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page.text)![1]!;
  const res = await agent
    .post('/admin/login')
    .set('traceparent', traceparent)
    .type('form')
    .send({ _csrf: csrf, email: admin.email, password: admin.password });
  expect(res.status).toBe(303);

  traced.push({ traceId, services: ['catalog-admin', 'auth'] });
  let trace = await traceWith(traceId, [
    [
      'catalog-admin',
      (s) => s.operationName.startsWith('POST') && tag(s, 'span.kind') === 'server',
    ],
    [
      'catalog-admin',
      (s) => tag(s, 'span.kind') === 'client' && /auth\/login/.test(String(tag(s, 'url.full'))),
    ],
    ['auth', (s) => s.operationName.startsWith('POST') && tag(s, 'span.kind') === 'server'],
    ['auth', (s) => tag(s, 'db.system') === 'postgresql'],
  ]);
  expect(new Set(trace.spans.map((s) => serviceOf(trace, s)))).toEqual(
    new Set(['catalog-admin', 'auth']),
  );
  // auth's request span is the child of catalog-admin's outgoing call.
  // (The panel's client may call more than once, e.g. a retry: any of its calls may be the parent.
  // Its fetch span is exported in the panel's next batch, maybe after auth's: look again a while.)
  const servedIn = (t: JaegerTrace) => {
    const calls = t.spans.filter(
      (s) =>
        serviceOf(t, s) === 'catalog-admin' &&
        tag(s, 'span.kind') === 'client' &&
        /auth\/login/.test(String(tag(s, 'url.full'))),
    );
    return t.spans.find(
      (s) =>
        serviceOf(t, s) === 'auth' &&
        tag(s, 'span.kind') === 'server' &&
        s.references?.some(
          (r) => r.refType === 'CHILD_OF' && calls.some((call) => call.spanID === r.spanID),
        ),
    );
  };
  let served = servedIn(trace);
  for (const until = Date.now() + 30_000; !served && Date.now() < until;) {
    await new Promise((r) => setTimeout(r, 1_000));
    trace = await traceWith(traceId, []);
    served = servedIn(trace);
  }
  if (!served) {
    const spans = trace.spans.map((x) => [
      serviceOf(trace, x),
      x.operationName,
      x.spanID,
      x.references?.map((r) => r.spanID),
      tag(x, 'span.kind'),
    ]);
    throw new Error(`auth's span is not a child of the panel's call: ${JSON.stringify(spans)}`);
  }
});

it("a registration: auth's request, its outbox publish and notifications' consume are one trace", async () => {
  const { traceId, traceparent } = newTrace();
  const email = `hops-${sfx}@example.test`;
  const res = await fetch(`${urls.auth}/api/v1/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', traceparent },
    body: JSON.stringify({ email, password: 'Correct-Horse-Battery-9!', firstName: 'Hop' }),
  });
  expect(res.status).toBe(201);
  traced.push({ traceId, services: ['auth', 'notifications'] });

  const trace = await traceWith(traceId, [
    ['auth', (s) => s.operationName.startsWith('POST') && tag(s, 'span.kind') === 'server'],
    ['auth', (s) => tag(s, 'span.kind') === 'producer'],
    ['notifications', (s) => tag(s, 'span.kind') === 'consumer'],
    ['notifications', (s) => tag(s, 'db.system') === 'postgresql'],
  ]);
  expect(new Set(trace.spans.map((s) => serviceOf(trace, s)))).toEqual(
    new Set(['auth', 'notifications']),
  );
  const publish = trace.spans.find(
    (s) => serviceOf(trace, s) === 'auth' && tag(s, 'span.kind') === 'producer',
  )!;
  expect(
    String(tag(publish, 'messaging.destination') ?? tag(publish, 'messaging.destination.name')),
  ).toContain(authEnv.AUTH_EVENTS_EXCHANGE);
  const consume = trace.spans.find(
    (s) => serviceOf(trace, s) === 'notifications' && tag(s, 'span.kind') === 'consumer',
  )!;
  expect(consume.references?.some((r) => r.spanID === publish.spanID)).toBe(true);
});

it("the services' log lines of both requests reach Elasticsearch with the same trace.id", async () => {
  expect(traced).toHaveLength(2);
  const logs = await shipServiceLogs(
    Object.fromEntries(Object.entries(procs).map(([name, proc]) => [name, proc.output()])),
    `logs-e2ehops-${sfx}`,
  );
  try {
    for (const { traceId, services } of traced) {
      const hits = await logs.byTrace(traceId);
      expect({
        traceId,
        services: [...new Set(hits.map((h) => h['service.name']))].sort(),
      }).toEqual({
        traceId,
        services: [...services].sort(),
      });
    }
  } finally {
    await logs.close();
  }
});
