import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  cacheDir,
  capture,
  dataDir,
  ensureDir,
  logDir,
  pickPort,
  run,
  say,
  spawnServer,
  StackError,
  waitFor,
  which,
  withLock,
  type RunningServer,
  type ServerDefinition,
} from '../core';

/**
 * Jaeger v2 (an OpenTelemetry Collector distribution) built from its Go module: the module tag
 * v1.76.0 is the release Jaeger v2.13.0 (one tag pair per release; the v2 binary is
 * `cmd/jaeger`). The module's go.mod has a `replace` line, so `go install pkg@version` refuses
 * it: the build runs inside the downloaded module as the main module (its go.sum pins every
 * dependency), with the version variables set the way the release Makefile sets them.
 */
export const JAEGER_MODULE_VERSION = 'v1.76.0';
export const JAEGER_VERSION = 'v2.13.0';
const MODULE = 'github.com/jaegertracing/jaeger';
/** The tag's commit and time (the Go module proxy's .info), for `jaeger version`. */
const JAEGER_COMMIT = '63b27e1810a710ac54dc4522da0538e540bdc545';
const JAEGER_BUILD_DATE = '2025-12-03T16:07:08Z';

interface ModuleInfo {
  Dir: string;
}

function ldflags(): string {
  const v = `${MODULE}/internal/version`;
  return [
    '-s',
    '-w',
    `-X ${v}.latestVersion=${JAEGER_VERSION}`,
    `-X ${v}.commitSHA=${JAEGER_COMMIT}`,
    `-X ${v}.date=${JAEGER_BUILD_DATE}`,
  ].join(' ');
}

/** The `jaeger` binary, built once into the cache (about 10 CPU-minutes cold; seconds after). */
export async function jaegerBinary(logFile: string): Promise<string> {
  const dir = path.join(cacheDir(), `jaeger-${JAEGER_VERSION}`);
  const binary = path.join(dir, 'jaeger');
  // Rebuilt when the build settings change (the stamp holds them).
  const stamp = path.join(dir, 'build.stamp');
  const settings = `${MODULE}@${JAEGER_MODULE_VERSION} ${ldflags()}`;
  const built = () =>
    fs.existsSync(binary) && fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === settings;
  if (built()) return binary;
  return withLock(`jaeger-${JAEGER_VERSION}`, async () => {
    if (built()) return binary;
    if (!(await which('go'))) {
      throw new StackError(
        'jaeger: Jaeger v2 is built from its Go module and needs Go (https://go.dev/dl); or set JAEGER_URL and OTEL_EXPORTER_OTLP_ENDPOINT',
      );
    }
    ensureDir(dir);
    const env = { ...process.env, GOFLAGS: '-buildvcs=false -mod=readonly' };
    const info = JSON.parse(
      await capture('go', ['mod', 'download', '-json', `${MODULE}@${JAEGER_MODULE_VERSION}`], env),
    ) as ModuleInfo;
    const started = Date.now();
    say(
      'jaeger',
      `building Jaeger ${JAEGER_VERSION} (${MODULE} ${JAEGER_MODULE_VERSION}) with go (first run only, 5-15 min on 2 cores; log ${logFile})`,
    );
    const ticker = setInterval(
      () => say('jaeger', `still building (${Math.round((Date.now() - started) / 1000)} s)`),
      60_000,
    );
    const tmp = `${binary}.${process.pid}.tmp`;
    try {
      await run('go', ['build', '-trimpath', '-ldflags', ldflags(), '-o', tmp, './cmd/jaeger'], {
        logFile,
        cwd: info.Dir,
        env,
        what: 'go build of jaeger',
      });
    } finally {
      clearInterval(ticker);
    }
    fs.renameSync(tmp, binary);
    fs.writeFileSync(stamp, settings);
    say('jaeger', `built in ${Math.round((Date.now() - started) / 1000)} s into ${binary}`);
    return binary;
  });
}

export type JaegerStorage = 'elasticsearch' | 'badger' | 'memory';

/** Storage backend of the trace store, as the collector config's `jaeger_storage` wants it. */
function storageConfig(storage: JaegerStorage, elasticsearchUrl: string | undefined) {
  if (storage === 'elasticsearch') {
    const daily = { date_layout: '2006-01-02', rollover_frequency: 'day', shards: 1, replicas: 0 };
    return {
      elasticsearch: {
        server_urls: [elasticsearchUrl],
        // Daily indices cinema-jaeger-span-YYYY-MM-DD, ... (older than the retention: deleted at start).
        indices: {
          index_prefix: 'cinema',
          spans: daily,
          services: daily,
          dependencies: daily,
          sampling: daily,
        },
        create_mappings: true,
        // Span and process tags as plain keyword fields (`tag.http@route`), not nested objects:
        // Elasticsearch indexes one document a span instead of one per tag (about 20 with the
        // services' resource), about half of its CPU per span
        // (tests/observability/backend-ingest.bench.mjs). Jaeger's search reads both forms.
        tags_as_fields: { all: true },
        bulk_processing: { flush_interval: '200ms' },
      },
    };
  }
  if (storage === 'badger') {
    const dir = dataDir('jaeger');
    return {
      badger: {
        directories: { keys: path.join(dir, 'keys'), values: path.join(dir, 'values') },
        ephemeral: false,
        ttl: { spans: `${retentionDays() * 24}h` },
      },
    };
  }
  return { memory: { max_traces: 100_000 } };
}

function retentionDays(): number {
  return Number(process.env.STACK_JAEGER_RETENTION_DAYS ?? 3);
}

/** Deletes the dated Jaeger indices older than the retention (ES storage has no TTL). */
async function pruneIndices(elasticsearchUrl: string): Promise<void> {
  const res = await fetch(`${elasticsearchUrl}/_cat/indices/cinema-jaeger-*?format=json&h=index`, {
    signal: AbortSignal.timeout(5000),
  });
  if (!res.ok) return;
  const cutoff = new Date(Date.now() - retentionDays() * 86_400_000).toISOString().slice(0, 10);
  const old = ((await res.json()) as Array<{ index: string }>)
    .map((i) => i.index)
    .filter((name) => {
      const day = /(\d{4}-\d{2}-\d{2})$/.exec(name)?.[1];
      return day !== undefined && day < cutoff;
    });
  if (old.length) {
    await fetch(`${elasticsearchUrl}/${old.join(',')}`, {
      method: 'DELETE',
      signal: AbortSignal.timeout(10_000),
    });
  }
}

/** `jaeger` answers on the query API with the services it has seen. */
async function queryReady(url: string): Promise<boolean> {
  const res = await fetch(`${url}/api/services`, { signal: AbortSignal.timeout(2000) });
  await res.arrayBuffer();
  return res.ok;
}

/**
 * Jaeger v2 on loopback: OTLP/HTTP in (OTEL_EXPORTER_OTLP_ENDPOINT for the services), the query
 * API (`/api/services`, `/api/traces`, JAEGER_URL) and its placeholder UI on a known port, traces
 * stored in the stack's Elasticsearch (STACK_JAEGER_STORAGE=badger|memory for its own store).
 * JAEGER_URL given means: use that Jaeger (then set OTEL_EXPORTER_OTLP_ENDPOINT to its OTLP/HTTP
 * receiver yourself). Optional for the tests (it is a Go build); `npm start` starts it.
 */
export const jaeger: ServerDefinition = {
  name: 'jaeger',
  envKey: 'JAEGER_URL',
  needs: ['elasticsearch'],
  optional: true,
  async start(env) {
    const logFile = path.join(logDir(), 'jaeger.log');
    const binary = await jaegerBinary(path.join(logDir(), 'jaeger-build.log'));
    const storage = (process.env.STACK_JAEGER_STORAGE ??
      (env.ELASTICSEARCH_URL ? 'elasticsearch' : 'memory')) as JaegerStorage;
    if (storage === 'elasticsearch' && !env.ELASTICSEARCH_URL) {
      throw new StackError('jaeger: ELASTICSEARCH_URL missing (elasticsearch not started)');
    }
    const queryPort = await pickPort(Number(process.env.STACK_JAEGER_PORT ?? 26686));
    const otlpPort = await pickPort(Number(process.env.STACK_JAEGER_OTLP_PORT ?? 24318));
    const grpcPort = await pickPort(Number(process.env.STACK_JAEGER_GRPC_PORT ?? 26685));
    const healthPort = await pickPort(Number(process.env.STACK_JAEGER_HEALTH_PORT ?? 23133));
    const config = {
      service: {
        extensions: ['jaeger_storage', 'jaeger_query', 'healthcheckv2'],
        pipelines: {
          traces: {
            receivers: ['otlp'],
            processors: ['batch'],
            exporters: ['jaeger_storage_exporter'],
          },
        },
        telemetry: {
          resource: { 'service.name': 'jaeger' },
          metrics: { level: 'none' },
          logs: { level: 'info', encoding: 'json' },
        },
      },
      extensions: {
        healthcheckv2: { use_v2: true, http: { endpoint: `127.0.0.1:${healthPort}` } },
        jaeger_query: {
          storage: { traces: 'store' },
          // Its own query spans would go to an OTLP/gRPC collector on :4317 (none here).
          enable_tracing: false,
          http: { endpoint: `127.0.0.1:${queryPort}` },
          grpc: { endpoint: `127.0.0.1:${grpcPort}` },
        },
        jaeger_storage: { backends: { store: storageConfig(storage, env.ELASTICSEARCH_URL) } },
      },
      receivers: {
        otlp: { protocols: { http: { endpoint: `127.0.0.1:${otlpPort}` } } },
      },
      processors: { batch: { timeout: '200ms' } },
      exporters: { jaeger_storage_exporter: { trace_storage: 'store' } },
    };
    // JSON is YAML: the collector's config loader reads it as is.
    const configFile = path.join(dataDir('jaeger'), 'config.yaml');
    fs.writeFileSync(configFile, JSON.stringify(config, null, 2));
    if (storage === 'elasticsearch') await pruneIndices(env.ELASTICSEARCH_URL!).catch(() => {});
    // `jaeger version` prints JSON on stdout and a log line on stderr (capture joins them).
    const printed = /\{.*\}/.exec(await capture(binary, ['version']))?.[0] ?? '{}';
    const version = JSON.parse(printed) as { gitVersion?: string };
    const proc = spawnServer({
      name: 'jaeger',
      command: binary,
      args: ['--config', configFile],
      logFile,
    });
    const url = `http://127.0.0.1:${queryPort}`;
    await waitFor('jaeger', () => queryReady(url), { process: proc, timeoutMs: 60_000 });
    return {
      name: 'jaeger',
      version: `Jaeger ${version.gitVersion ?? JAEGER_VERSION} (${MODULE} ${JAEGER_MODULE_VERSION}), storage ${storage}`,
      env: {
        JAEGER_URL: url,
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${otlpPort}`,
      },
      pid: proc.pid,
      logFile,
    };
  },
  async probe(server: RunningServer) {
    return queryReady(server.env.JAEGER_URL!);
  },
};
