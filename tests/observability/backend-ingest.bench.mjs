#!/usr/bin/env node
/**
 * What the local stack's trace and log backend costs (issue 16). On one machine Jaeger and
 * Elasticsearch share the cores with the service being measured, so this is the part of
 * `overhead.bench.ts`'s `on` setting that a cluster pays elsewhere. Two parts, each at a fixed
 * rate, each timed (CPU of Jaeger and of Elasticsearch, from /proc) from the first item until
 * Elasticsearch counts the last:
 *
 *   spans  spans shaped like a service's HTTP server span (the same attributes, the resource the
 *          services' SDK detects) over OTLP/HTTP to the stack's Jaeger, stored in Elasticsearch
 *   logs   access-log lines like catalog-api's (ECS, with trace and request ids) appended to a
 *          file that the stack's LogShipper sends to Elasticsearch (the shipper runs in this
 *          process; its CPU is printed too)
 *
 *   node tests/observability/backend-ingest.bench.mjs     (the stack running with Jaeger)
 *
 * BENCH_PARTS (spans,logs), BENCH_RATE (3000 a second), BENCH_SECONDS (10), BENCH_RESOURCE
 * (detected: what the services' SDK detects; or `service`: service.name only), BENCH_PROTOCOL
 * (http/json, the services' default; or http/protobuf).
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const require = createRequire(path.join(root, 'packages/telemetry/package.json'));
const { BasicTracerProvider, BatchSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const { OTLPTraceExporter: OTLPJsonExporter } = require('@opentelemetry/exporter-trace-otlp-http');
const {
  OTLPTraceExporter: OTLPProtoExporter,
} = require('@opentelemetry/exporter-trace-otlp-proto');
const resources = require('@opentelemetry/resources');
const { SpanKind } = require('@opentelemetry/api');
const { LogShipper } = require(path.join(root, 'packages/stack/dist/index.js'));

const PARTS = (process.env.BENCH_PARTS ?? 'spans,logs').split(',');
const RATE = Number(process.env.BENCH_RATE ?? 3000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const RESOURCE = process.env.BENCH_RESOURCE ?? 'detected';
const PROTOCOL = process.env.BENCH_PROTOCOL ?? 'http/json';
if (!['http/json', 'http/protobuf'].includes(PROTOCOL))
  throw new Error(`BENCH_PROTOCOL: http/json or http/protobuf, not ${PROTOCOL}`);
const OTLPTraceExporter = PROTOCOL === 'http/protobuf' ? OTLPProtoExporter : OTLPJsonExporter;

const servers = JSON.parse(fs.readFileSync(path.join(root, '.stack/state.json'), 'utf8')).servers;
const otlp = servers.jaeger?.env.OTEL_EXPORTER_OTLP_ENDPOINT;
const es = servers.elasticsearch?.env.ELASTICSEARCH_URL;
if (!otlp || !es)
  throw new Error('needs the stack with Jaeger and Elasticsearch (stack up jaeger)');
const pids = { jaeger: servers.jaeger.pid, elasticsearch: servers.elasticsearch.pid };

/** User + system CPU seconds of a process so far. */
function cpu(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const id = randomUUID().slice(0, 8);

async function count(index, query) {
  const res = await fetch(`${es}/${index}/_count`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query }),
  });
  return res.ok ? (await res.json()).count : 0;
}

/**
 * Calls `make(n)` for RATE items a second (in 50 ms slices) for SECONDS, then `flush()`, then
 * waits until `searchable()` says all are in Elasticsearch; prints the CPU spent per 1,000.
 */
async function measure(name, detail, { make, flush, searchable, own }) {
  const before = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpu(pid)]));
  const ownBefore = process.cpuUsage();
  const started = Date.now();
  let sent = 0;
  while (Date.now() - started < SECONDS * 1000) {
    const due = Math.floor(((Date.now() - started) / 1000) * RATE);
    if (due > sent) make(sent, due - sent);
    sent = due;
    await sleep(50);
  }
  await flush();
  const flushed = Date.now();
  let stored = 0;
  for (let i = 0; i < 600 && stored < sent; i++) {
    await sleep(500);
    stored = await searchable();
  }
  const lag = (Date.now() - flushed) / 1000;
  const per1000 = (seconds) => (1000 * seconds) / (sent / 1000);
  const spent = Object.fromEntries(
    Object.entries(pids).map(([k, pid]) => [k, per1000(cpu(pid) - before[k])]),
  );
  const mine = process.cpuUsage(ownBefore);
  console.log(
    `${name}: ${sent} at ${RATE}/s for ${SECONDS} s, ${detail}; ${stored} searchable ` +
      `${lag.toFixed(1)} s after the last was sent`,
  );
  console.log(
    `  CPU per 1,000: ${name === 'spans' ? `Jaeger ${spent.jaeger.toFixed(0)} ms, ` : ''}` +
      `Elasticsearch ${spent.elasticsearch.toFixed(0)} ms` +
      (own ? `, ${own} ${per1000((mine.user + mine.system) / 1e6).toFixed(0)} ms` : ''),
  );
  if (stored < sent) process.exitCode = 1;
}

async function spans() {
  const service = `ingest-${id}`;
  const named = new resources.Resource({ 'service.name': service });
  const resource =
    RESOURCE === 'service'
      ? named
      : named.merge(
          resources.detectResourcesSync({
            detectors: [
              resources.hostDetectorSync,
              resources.osDetectorSync,
              resources.processDetectorSync,
            ],
          }),
        );
  await resource.waitForAsyncAttributes?.();
  const provider = new BasicTracerProvider({
    resource,
    spanProcessors: [
      new BatchSpanProcessor(new OTLPTraceExporter({ url: `${otlp}/v1/traces` }), {
        scheduledDelayMillis: 1000,
        maxQueueSize: 8192,
      }),
    ],
  });
  const tracer = provider.getTracer('@cinema/telemetry/http-server');
  await measure(
    'spans',
    `resource ${RESOURCE} (${Object.keys(resource.attributes).length} attributes)`,
    {
      make(_from, n) {
        for (let i = 0; i < n; i++) {
          const span = tracer.startSpan('POST /api/pause', {
            kind: SpanKind.SERVER,
            attributes: {
              'http.request.method': 'POST',
              'url.path': '/api/pause',
              'url.scheme': 'http',
              'network.protocol.version': '1.1',
              'client.address': '127.0.0.1',
              'server.port': 8080,
              'server.address': '127.0.0.1',
              'http.request_id': randomUUID(),
            },
          });
          span.setAttribute('http.response.status_code', 202);
          span.setAttribute('http.route', '/api/pause');
          span.end();
        }
      },
      flush: () => provider.forceFlush(),
      searchable: () => count('cinema-jaeger-span-*', { term: { 'process.serviceName': service } }),
    },
  );
  // The spans stay: deleting them would start merges that the next run would pay for. The
  // stack's retention prunes the day's index.
  await provider.shutdown();
}

async function logs() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cinema-ingest-'));
  const file = path.join(dir, 'catalog-api.log');
  const prefix = `logs-ingest-${id}`;
  const shipper = new LogShipper({
    elasticsearchUrl: es,
    stateFile: path.join(dir, 'offsets.json'),
    indexPrefix: prefix,
    sources: () => [{ file, service: 'catalog-api', format: 'ecs' }],
  });
  shipper.start();
  const film = randomUUID();
  try {
    await measure('log lines', 'catalog-api access lines through the LogShipper', {
      make(from, n) {
        let text = '';
        for (let i = from; i < from + n; i++) {
          const ms = 1 + (i % 7);
          text +=
            JSON.stringify({
              'log.level': 'info',
              '@timestamp': new Date().toISOString(),
              'process.pid': process.pid,
              'host.hostname': os.hostname(),
              'ecs.version': '8.10.0',
              'service.name': 'catalog-api',
              'event.dataset': 'catalog-api',
              'trace.id': randomUUID().replace(/-/g, ''),
              'span.id': randomUUID().replace(/-/g, '').slice(0, 16),
              'http.request.id': randomUUID(),
              responseTime: ms,
              req: { method: 'GET', url: `/api/v1/films/${film}`, remoteAddress: '127.0.0.1' },
              res: { statusCode: 200 },
              message: `GET /api/v1/films/${film} 200 ${ms}ms`,
            }) + '\n';
        }
        fs.appendFileSync(file, text);
      },
      flush: async () => undefined,
      searchable: () => count(`${prefix}-*`, { match_all: {} }),
      own: 'shipper (and the line writer)',
    });
  } finally {
    await shipper.stop();
    const indices = await fetch(`${es}/_cat/indices/${prefix}-*?h=index&format=json`).then((r) =>
      r.json(),
    );
    for (const { index } of indices) {
      await fetch(`${es}/${index}`, { method: 'DELETE' }).then((r) => r.arrayBuffer());
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (PARTS.includes('spans')) await spans();
if (PARTS.includes('logs')) await logs();
