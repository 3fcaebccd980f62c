/**
 * One request, every hop, in Jaeger: ugc-collector, catalog-api and ugc-etl run as processes the
 * way the platform runs them (`node --require @cinema/telemetry/register dist/main.js`, OTLP to
 * the stack's Jaeger). A player event through the collector and a catalog-api call that emits a
 * page view each come back from Jaeger's query API as one trace holding the HTTP request, the
 * Kafka publish and ugc-etl's batch processing and ClickHouse insert (the Kafka message carries
 * the request's traceparent; the batch spans mirror into it), with the request id on the spans.
 *
 * Both calls go through the generated clients (@cinema/clients): the player event with its own
 * `traceparent` and `X-Request-Id` headers (a caller's own win), the catalog call from inside a
 * served request's context (an active span of the test's trace, a request id in
 * `requestContext`), which the client's middleware propagates as a service's outgoing call would.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { context, propagation, ROOT_CONTEXT, trace as otel, TraceFlags } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { createServiceClient } from '@cinema/clients';
import { requestContext } from '@cinema/logging';
import { LogShipper, startStack, type Stack } from '@cinema/stack';
import {
  deleteTopicsWithPrefix,
  freePort,
  runProcess,
  startTestIssuer,
  suffix,
  waitFor,
  type RunningProcess,
  type TestIssuer,
} from '@cinema/testing';

jest.setTimeout(600_000);

const root = path.resolve(__dirname, '..', '..');
const id = suffix();
const prefix = `e2e-traces-${id}.`;

interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  processID: string;
  tags: Array<{ key: string; value: unknown }>;
}
interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string }>;
}

let stack: Stack;
let issuer: TestIssuer;
const services: RunningProcess[] = [];
const urls: Record<string, string> = {};
const byName: Record<string, RunningProcess> = {};
/**
 * Trace ids of the requests above whose service logs them. Not the collector's: its event
 * endpoints are `quietPaths` (a successful event writes no access line, by design of the hot path).
 */
const traced: Record<string, string> = {};

async function startService(name: string, env: Record<string, string | undefined>) {
  const port = await freePort();
  const proc = runProcess(
    process.execPath,
    ['--require', '@cinema/telemetry/register', `services/${name}/dist/main.js`],
    {
      cwd: root,
      env: {
        PORT: String(port),
        LOG_LEVEL: 'info',
        OTEL_SERVICE_NAME: name,
        OTEL_EXPORTER_OTLP_ENDPOINT: stack.env.OTEL_EXPORTER_OTLP_ENDPOINT,
        KAFKA_BROKERS: process.env.KAFKA_BROKERS,
        KAFKA_TOPIC_PREFIX: prefix,
        KAFKA_TOPIC_PARTITIONS: '1',
        KAFKA_TOPIC_REPLICATION: '1',
        AUTH_JWKS_URL: issuer.jwksUrl,
        JWT_ISSUER: issuer.issuer,
        JWT_AUDIENCE: issuer.audience,
        ...env,
      },
    },
  );
  services.push(proc);
  byName[name] = proc;
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    async () => {
      if (proc.child.exitCode !== null) throw new Error(`${name} exited:\n${proc.output()}`);
      return (await fetch(`${url}/readyz`).catch(() => undefined))?.ok === true;
    },
    120_000,
    `${name} ready`,
  );
  urls[name] = url;
}

beforeAll(async () => {
  // Jaeger is optional in the test stack (a Go build): named here, reused when running.
  stack = await startStack({ only: ['jaeger'] });
  issuer = await startTestIssuer();
  await startService('ugc-etl', {
    KAFKA_GROUP_ID: `e2e-traces-${id}`,
    CHDB_PATH: path.join(os.tmpdir(), `cinema-traces-chdb-${process.pid}-${id}`),
    CLICKHOUSE_DATABASE: `traces_${id}`,
    BATCH_MAX_WAIT_MS: '100',
  });
  await startService('ugc-collector', {});
  await startService('catalog-api', {
    ELASTICSEARCH_URL: process.env.ELASTICSEARCH_URL,
    ES_INDEX_PREFIX: `traces_${id}_`,
    REDIS_URL: process.env.REDIS_URL,
    CACHE_KEY_PREFIX: `traces-${id}:`,
    CACHE_GENERATION_KEY: `traces-${id}:generation`,
  });
});

// What the platform's telemetry sets up in a service: W3C propagation, an async context.
const contextManager = new AsyncLocalStorageContextManager();
beforeAll(() => {
  context.setGlobalContextManager(contextManager.enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
});

afterAll(async () => {
  propagation.disable();
  context.disable();
  await Promise.all(services.map((s) => s.stop()));
  await issuer?.close();
  await deleteTopicsWithPrefix(prefix).catch(() => undefined);
});

/** A W3C traceparent of a trace of our own: the test knows the id to ask Jaeger for. */
function newTrace(): { traceId: string; spanId: string; traceparent: string } {
  const traceId = randomBytes(16).toString('hex');
  const spanId = randomBytes(8).toString('hex');
  return { traceId, spanId, traceparent: `00-${traceId}-${spanId}-01` };
}

async function jaegerTrace(traceId: string): Promise<JaegerTrace | undefined> {
  const res = await fetch(`${stack.env.JAEGER_URL}/api/traces/${traceId}`);
  if (res.status === 404) return undefined;
  const body = (await res.json()) as { data?: JaegerTrace[] };
  return body.data?.[0];
}

const serviceOf = (t: JaegerTrace, s: JaegerSpan) => t.processes[s.processID]?.serviceName;
const tag = (s: JaegerSpan, key: string) => s.tags.find((t) => t.key === key)?.value;

/** Waits until the trace holds a span of every `expected` service:operation prefix. */
async function traceWith(traceId: string, expected: string[]): Promise<JaegerTrace> {
  let last: JaegerTrace | undefined;
  try {
    await waitFor(
      async () => {
        last = await jaegerTrace(traceId);
        if (!last) return false;
        const seen = last.spans.map((s) => `${serviceOf(last!, s)}:${s.operationName}`);
        return expected.every((e) => seen.some((s) => s.startsWith(e)));
      },
      90_000,
      `trace ${traceId}`,
    );
  } catch (err) {
    const seen = last?.spans.map((s) => `${serviceOf(last!, s)}:${s.operationName}`);
    throw new Error(`${(err as Error).message}; spans seen: ${JSON.stringify(seen)}`);
  }
  return last!;
}

it('a player event: collector HTTP -> Kafka -> ugc-etl batch -> ClickHouse insert, one trace', async () => {
  const { traceId, traceparent } = newTrace();
  const requestId = `e2e-player-${id}`;
  const collector = createServiceClient('ugc-collector', { baseUrl: urls['ugc-collector']! });
  const { response: res } = await collector.POST('/api/pause', {
    params: { header: { 'X-Anonymous-Id': randomUUID() } },
    headers: { 'x-request-id': requestId, traceparent },
    body: {
      event_id: randomUUID(),
      film_id: randomUUID(),
      position_sec: 12,
      client_time: new Date().toISOString(),
    },
  });
  expect(res.status).toBe(202);
  expect(res.headers.get('x-request-id')).toBe(requestId);

  const trace = await traceWith(traceId, [
    'ugc-collector:POST /api/pause',
    'ugc-collector:kafka publish',
    'ugc-etl:' + prefix,
    'ugc-etl:clickhouse insert',
  ]);
  expect(new Set(trace.spans.map((s) => serviceOf(trace, s)))).toEqual(
    new Set(['ugc-collector', 'ugc-etl']),
  );
  expect(trace.spans.every((s) => s.traceID === traceId)).toBe(true);
  // The request id is an attribute of the request's spans.
  expect(trace.spans.some((s) => tag(s, 'http.request_id') === requestId)).toBe(true);
  const insert = trace.spans.find((s) => s.operationName.startsWith('clickhouse insert'))!;
  expect(tag(insert, 'db.system')).toBe('clickhouse');
  expect(String(tag(insert, 'db.collection.name'))).toMatch(/pause/);
});

it('a catalog-api call: HTTP -> Elasticsearch -> page view to Kafka -> ugc-etl -> ClickHouse, one trace', async () => {
  const { traceId, spanId } = newTrace();
  const requestId = `e2e-catalog-${id}`;
  traced['catalog-api'] = traceId;
  const token = await issuer.token(randomUUID());
  const catalog = createServiceClient('catalog-api', { baseUrl: urls['catalog-api']! });
  // As inside a request a service is serving: its span active, its request id in the context.
  const served = otel.setSpan(
    ROOT_CONTEXT,
    otel.wrapSpanContext({ traceId, spanId, traceFlags: TraceFlags.SAMPLED, isRemote: true }),
  );
  const { response: res } = await requestContext.run({ requestId }, () =>
    context.with(served, () =>
      catalog.GET('/api/v1/films/{film_id}', {
        params: { path: { film_id: randomUUID() } },
        headers: { authorization: `Bearer ${token}` },
      }),
    ),
  );
  expect([200, 404]).toContain(res.status);
  expect(res.headers.get('x-request-id')).toBe(requestId);

  const trace = await traceWith(traceId, [
    'catalog-api:GET /api/v1/films/:film_id',
    'catalog-api:kafka publish',
    'ugc-etl:' + prefix,
    'ugc-etl:clickhouse insert',
  ]);
  expect(new Set(trace.spans.map((s) => serviceOf(trace, s)))).toEqual(
    new Set(['catalog-api', 'ugc-etl']),
  );
  expect(trace.spans.some((s) => tag(s, 'http.request_id') === requestId)).toBe(true);
  // Elasticsearch is a hop of its own (the client's native OpenTelemetry spans).
  expect(trace.spans.some((s) => tag(s, 'db.system') === 'elasticsearch')).toBe(true);
  const insert = trace.spans.find((s) => s.operationName.startsWith('clickhouse insert'))!;
  expect(String(tag(insert, 'db.collection.name'))).toMatch(/page_views|get_film/);
});

it("the service's log lines of the catalog request reach Elasticsearch with the same trace.id", async () => {
  expect(Object.keys(traced)).toEqual(['catalog-api']);
  // What the stack's process runner does with each service's stdout (its log file).
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cinema-traces-logs-'));
  const index = `logs-e2etraces-${id}`;
  const es = process.env.ELASTICSEARCH_URL!;
  const shipper = new LogShipper({
    elasticsearchUrl: es,
    stateFile: path.join(dir, 'offsets.json'),
    indexPrefix: index,
    sources: () =>
      Object.entries(byName).map(([name, proc]) => {
        const file = path.join(dir, `service-${name}.log`);
        fs.writeFileSync(file, proc.output());
        return { file, service: name, format: 'ecs' as const };
      }),
  });
  try {
    await shipper.round();
    await fetch(`${es}/${index}-*/_refresh`, { method: 'POST' });
    for (const [service, traceId] of Object.entries(traced)) {
      const res = await fetch(`${es}/${index}-*/_search`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: { term: { 'trace.id': traceId } }, size: 50 }),
      });
      const hits = (
        (await res.json()) as { hits: { hits: Array<{ _source: Record<string, unknown> }> } }
      ).hits.hits.map((h) => h._source);
      expect(hits.length).toBeGreaterThan(0);
      expect(hits.some((h) => h['service.name'] === service)).toBe(true);
      expect(hits.every((h) => typeof h['log.level'] === 'string')).toBe(true);
    }
  } finally {
    await shipper.stop();
    const res = await fetch(`${es}/_cat/indices/${index}-*?format=json&h=index`);
    const names = ((await res.json()) as Array<{ index: string }>).map((i) => i.index);
    if (names.length) await fetch(`${es}/${names.join(',')}`, { method: 'DELETE' });
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
