/**
 * What tracing and log shipping cost, in one run (issue 16): ugc-collector (`POST /api/pause`)
 * and catalog-api (`GET /api/v1/films/{id}`, warm cache) as the platform runs them
 * (`node --require @cinema/telemetry/register dist/main.js`, LOG_LEVEL=info to a log file), each
 * under the same autocannon load in several settings, interleaved round by round so the machine's
 * other load hits every setting alike:
 *
 *   off      OTEL_SDK_DISABLED=true, no shipper (the log file is still written)
 *   on       the SDK, every trace sampled (the local default), OTLP to the stack's Jaeger, and the
 *            stack's LogShipper (a process of its own) sending the log file to Elasticsearch
 *   sink     as `on`, but spans go to a receiver that discards them (another process): the
 *            in-process cost without Jaeger and Elasticsearch indexing on the same cores
 *   sampled  as `on` with `parentbased_traceidratio` 0.1 (a production-like setting)
 *   proto    as `on` with OTLP/protobuf instead of JSON
 *   record   the SDK records every span, exports none, no shipper; noship: `on` without shipper;
 *            shiponly: no SDK, only the shipper
 *
 * Each run prints the service's req/s and its CPU per 1,000 answered requests, and the CPU that
 * the shipper, Jaeger and Elasticsearch (indexing the run's spans and lines on the same cores) and
 * autocannon spent per 1,000; each run starts once Jaeger and Elasticsearch are idle.
 * The summary gives each setting's cost against `off` as mean, median, best round and paired
 * (each run against the `off` run nearest in time, median: the machine's speed drifts).
 *
 *   npx tsx tests/observability/overhead.bench.ts   (a built tree, the stack running with Jaeger)
 *
 * BENCH_SECONDS (10), BENCH_WARMUP_SECONDS (3), BENCH_ROUNDS (2), BENCH_CONNECTIONS (32),
 * BENCH_SETTLE_SECONDS (5, the pause between runs),
 * BENCH_SETTINGS (off,on,sink,sampled), BENCH_SERVICES (ugc-collector,catalog-api),
 * BENCH_PIN=1 (the service on a core of its own, everything else on the others),
 * BENCH_CPU_PROFILE_DIR (a V8 CPU profile of each run's service process there). Extra
 * variables for the `on`-like settings: BENCH_OTEL_ENV='K=V,K=V' (e.g. the exporter protocol).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import autocannon from 'autocannon';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { Kafka, logLevel } from 'kafkajs';

const root = path.resolve(__dirname, '..', '..');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const WARMUP = Number(process.env.BENCH_WARMUP_SECONDS ?? 3);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
/** Pause between runs: Jaeger and Elasticsearch finish indexing the last run's spans and lines. */
const SETTLE = Number(process.env.BENCH_SETTLE_SECONDS ?? 5);
const SETTINGS = (process.env.BENCH_SETTINGS ?? 'off,on,sink,sampled').split(',');
const SERVICES = (process.env.BENCH_SERVICES ?? 'ugc-collector,catalog-api').split(',');
/**
 * BENCH_PIN=1: the service on a core of its own (the last), everything else (this process with
 * autocannon, the shipper, the sink, the stack's Jaeger, Elasticsearch and Kafka) on the others,
 * as when the backend runs on other machines; the stack servers' affinity is restored at the
 * end. Measures the service's own throughput cost, not the machine's.
 */
const PIN = process.env.BENCH_PIN === '1' ? pinning() : undefined;
function pinning() {
  const cores = os.cpus().length;
  if (cores < 2) throw new Error('BENCH_PIN needs 2 cores or more');
  return { service: cores - 1, rest: `0-${cores - 2}`, all: `0-${cores - 1}` };
}
/** A folder for V8 CPU profiles of every run (`--cpu-prof`), to see where the time goes. */
const PROFILE_DIR = process.env.BENCH_CPU_PROFILE_DIR;
const EXTRA = Object.fromEntries(
  (process.env.BENCH_OTEL_ENV ?? '')
    .split(',')
    .filter(Boolean)
    .map((kv) => kv.split('=') as [string, string]),
);

const state = JSON.parse(fs.readFileSync(path.join(root, '.stack/state.json'), 'utf8')) as {
  servers: Record<string, { env: Record<string, string>; pid?: number }>;
};
/** The stack's Jaeger and Elasticsearch: their CPU during a run is the backend's share of it. */
const BACKEND = ['jaeger', 'elasticsearch'].map((name) => state.servers[name]?.pid);

/**
 * Waits (up to 60 s) until Jaeger and Elasticsearch use under 5 % of a core: the last run's spans
 * and lines indexed and merged. Their background work slows the measured service even on another
 * core (shared caches and memory), and would fall on whichever setting runs next.
 */
async function backendIdle(): Promise<void> {
  const busy = () => BACKEND.reduce<number>((sum, pid) => sum + cpuSeconds(pid), 0);
  for (let i = 0; i < 60; i++) {
    const before = busy();
    await sleep(1000);
    if (busy() - before < 0.05) return;
  }
}

/** Sets the CPU affinity of a process and all its threads (taskset). */
function affinity(pid: number, cpus: string): void {
  spawnSync('taskset', ['-a', '-c', '-p', cpus, String(pid)], { stdio: 'ignore' });
}
function pinOthers(cpus: string): void {
  affinity(process.pid, cpus);
  for (const name of ['jaeger', 'elasticsearch', 'kafka', 'redis']) {
    const pid = state.servers[name]?.pid;
    if (pid) affinity(pid, cpus);
  }
}
const stackEnv = (key: string) =>
  process.env[key] ??
  Object.values(state.servers)
    .map((s) => s.env[key])
    .find(Boolean);
const OTLP = stackEnv('OTEL_EXPORTER_OTLP_ENDPOINT');
const ES = stackEnv('ELASTICSEARCH_URL');
const KAFKA = stackEnv('KAFKA_BROKERS');
const REDIS = stackEnv('REDIS_URL');
if (!OTLP || !ES || !KAFKA || !REDIS) {
  throw new Error('needs the stack with Jaeger (OTEL_EXPORTER_OTLP_ENDPOINT), ES, Kafka, Redis');
}
const id = randomUUID().slice(0, 8);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cinema-overhead-'));
const children: ChildProcess[] = [];

const CLK_TCK = 100;
/** User + system CPU seconds of a process so far (/proc). */
function cpuSeconds(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / CLK_TCK;
  } catch {
    return 0;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = http.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** A process of its own that accepts OTLP and discards it. */
async function startSink(): Promise<string> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      '-e',
      `require('http').createServer((q,s)=>{q.resume();q.on('end',()=>{s.writeHead(200,{'content-type':q.headers['content-type']||'application/json'});s.end(q.headers['content-type']==='application/x-protobuf'?'':'{}')})}).listen(${port},'127.0.0.1')`,
    ],
    { stdio: 'ignore' },
  );
  children.push(child);
  await sleep(300);
  return `http://127.0.0.1:${port}`;
}

/** The stack's LogShipper over one file, in a process of its own (as the stack runs it). */
function startShipper(file: string, service: string): ChildProcess {
  const script = `
    const { LogShipper } = require(${JSON.stringify(path.join(root, 'packages/stack/dist/index.js'))});
    const s = new LogShipper({ elasticsearchUrl: ${JSON.stringify(ES)},
      stateFile: ${JSON.stringify(path.join(dir, `offsets-${service}.json`))},
      indexPrefix: 'logs-overhead-${id}',
      sources: () => [{ file: ${JSON.stringify(file)}, service: ${JSON.stringify(service)}, format: 'ecs' }] });
    s.start();
    process.on('SIGTERM', () => s.stop().then(() => { console.log(JSON.stringify(s.stats)); process.exit(0); }));`;
  const child = spawn(process.execPath, ['-e', script], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  children.push(child);
  return child;
}

interface Setting {
  name: string;
  env: Record<string, string>;
  ship: boolean;
}

async function settingsOf(): Promise<Setting[]> {
  const sink = SETTINGS.includes('sink') ? await startSink() : undefined;
  const all: Record<string, Setting> = {
    off: { name: 'off', env: { OTEL_SDK_DISABLED: 'true' }, ship: false },
    on: { name: 'on', env: { OTEL_EXPORTER_OTLP_ENDPOINT: OTLP!, ...EXTRA }, ship: true },
    sink: {
      name: 'sink',
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: sink ?? '', ...EXTRA },
      ship: true,
    },
    // `on` with OTLP/JSON (the exporter's encoding before protobuf became the default here).
    json: {
      name: 'json',
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: OTLP!,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        ...EXTRA,
      },
      ship: true,
    },
    // Decomposition: the SDK recording spans, nothing exported, no shipper; and `on` without
    // the shipper.
    record: { name: 'record', env: { ...EXTRA }, ship: false },
    shiponly: { name: 'shiponly', env: { OTEL_SDK_DISABLED: 'true' }, ship: true },
    noship: { name: 'noship', env: { OTEL_EXPORTER_OTLP_ENDPOINT: OTLP!, ...EXTRA }, ship: false },
    sampled: {
      name: 'sampled',
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: OTLP!,
        OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
        OTEL_TRACES_SAMPLER_ARG: '0.1',
        ...EXTRA,
      },
      ship: true,
    },
  };
  return SETTINGS.map((s) => {
    if (!all[s]) throw new Error(`unknown setting ${s}`);
    return all[s]!;
  });
}

interface Target {
  service: string;
  env: Record<string, string>;
  request: (base: string) => autocannon.Options;
}

async function filmId(): Promise<string> {
  const res = await fetch(`${ES}/films/_search?size=1&_source=false`);
  const body = (await res.json()) as { hits: { hits: Array<{ _id: string }> } };
  const found = body.hits.hits[0]?._id;
  if (!found) throw new Error('no film in the stack\'s "films" index (npm start loads the demo)');
  return found;
}

/** A JWKS on loopback and a viewer's access token signed by its key (catalog-api wants one). */
async function issuer(): Promise<{ jwksUrl: string; token: string }> {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'bench', alg: 'RS256', use: 'sig' };
  const port = await freePort();
  const server = http
    .createServer((_q, s) =>
      s.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })),
    )
    .listen(port, '127.0.0.1');
  server.unref();
  const token = await new SignJWT({ roles: ['public_user'], typ: 'access', sid: randomUUID() })
    .setProtectedHeader({ alg: 'RS256', kid: 'bench' })
    .setSubject(randomUUID())
    .setIssuer('cinema-auth')
    .setAudience('cinema')
    .setIssuedAt()
    .setExpirationTime('2h')
    .sign(privateKey);
  return { jwksUrl: `http://127.0.0.1:${port}/jwks.json`, token };
}

async function targets(): Promise<Target[]> {
  const film = SERVICES.includes('catalog-api') ? await filmId() : '';
  const auth = await issuer();
  const all: Record<string, Target> = {
    'ugc-collector': {
      service: 'ugc-collector',
      env: { KAFKA_BROKERS: KAFKA!, KAFKA_TOPIC_PREFIX: `overhead-${id}.` },
      request: (base) => ({
        url: `${base}/api/pause`,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-anonymous-id': 'bench-viewer' },
        body: JSON.stringify({
          event_id: randomUUID(),
          film_id: randomUUID(),
          position_sec: 12,
          client_time: new Date().toISOString(),
        }),
      }),
    },
    'catalog-api': {
      service: 'catalog-api',
      env: {
        ELASTICSEARCH_URL: ES!,
        REDIS_URL: REDIS!,
        KAFKA_BROKERS: KAFKA!,
        KAFKA_TOPIC_PREFIX: `overhead-${id}.`,
        CACHE_KEY_PREFIX: `overhead-${id}:`,
        CACHE_GENERATION_KEY: `overhead-${id}:generation`,
        AUTH_JWKS_URL: auth.jwksUrl,
      },
      request: (base) => ({
        url: `${base}/api/v1/films/${film}`,
        headers: { authorization: `Bearer ${auth.token}` },
      }),
    },
  };
  return SERVICES.map((s) => all[s]!);
}

async function run(target: Target, setting: Setting, round: number) {
  const port = await freePort();
  const logFile = path.join(dir, `${target.service}-${setting.name}-${round}.log`);
  const out = fs.openSync(logFile, 'a');
  const child = spawn(
    PIN ? 'taskset' : process.execPath,
    [
      ...(PIN ? ['-c', String(PIN.service), process.execPath] : []),
      ...(PROFILE_DIR
        ? [
            '--cpu-prof',
            '--cpu-prof-dir',
            path.join(PROFILE_DIR, `${target.service}-${setting.name}-${round}`),
          ]
        : []),
      '--require',
      '@cinema/telemetry/register',
      `services/${target.service}/dist/main.js`,
    ],
    {
      cwd: root,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        PORT: String(port),
        LOG_LEVEL: 'info',
        OTEL_SERVICE_NAME: `${target.service}-bench`,
        ...target.env,
        ...setting.env,
      },
      stdio: ['ignore', out, out],
    },
  );
  children.push(child);
  const shipper = setting.ship ? startShipper(logFile, target.service) : undefined;
  const base = `http://127.0.0.1:${port}`;
  try {
    for (let i = 0; ; i++) {
      if (child.exitCode !== null) throw new Error(`${target.service} exited: ${logFile}`);
      if ((await fetch(`${base}/readyz`).catch(() => undefined))?.ok) break;
      if (i > 300) throw new Error(`${target.service} not ready`);
      await sleep(100);
    }
    const load = (duration: number) =>
      autocannon({ ...target.request(base), connections: CONNECTIONS, duration });
    await load(WARMUP);
    const cpu0 = cpuSeconds(child.pid);
    const ship0 = cpuSeconds(shipper?.pid);
    const backendCpu = () => BACKEND.reduce<number>((sum, pid) => sum + cpuSeconds(pid), 0);
    const backend0 = backendCpu();
    const loader0 = process.cpuUsage();
    const r = await load(SECONDS);
    const loader = process.cpuUsage(loader0);
    const requests = r['2xx'] || 1;
    return {
      rps: r.requests.average,
      p99: r.latency.p99,
      bad: r.non2xx + r.errors,
      // CPU per 1,000 answered requests: the service's, and the shipper's for its lines.
      cpu: (1e6 * (cpuSeconds(child.pid) - cpu0)) / requests,
      shipCpu: (1e6 * (cpuSeconds(shipper?.pid) - ship0)) / requests,
      // Jaeger and Elasticsearch indexing this run's spans and lines on the same cores.
      backendCpu: (1e6 * (backendCpu() - backend0)) / requests,
      // autocannon, in this process.
      loaderCpu: (loader.user + loader.system) / requests,
    };
  } finally {
    child.kill('SIGTERM');
    if (child.exitCode === null) await new Promise((r) => child.once('exit', r));
    if (shipper) {
      shipper.kill('SIGTERM');
      if (shipper.exitCode === null) await new Promise((r) => shipper.once('exit', r));
    }
    fs.closeSync(out);
  }
}

async function deleteTopics(prefix: string) {
  const admin = new Kafka({ brokers: [KAFKA!], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
    if (topics.length) await admin.deleteTopics({ topics });
  } finally {
    await admin.disconnect();
  }
}

async function main() {
  if (PIN) pinOthers(PIN.rest);
  // Ctrl-C skips main's finally: the service would keep running (and with BENCH_PIN the stack's
  // servers would stay on one core).
  process.once('SIGINT', () => {
    if (PIN) pinOthers(PIN.all);
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
    process.exit(130);
  });
  const settings = await settingsOf();
  console.log(
    `overhead bench: ${SECONDS} s per run after ${WARMUP} s warm-up, ${CONNECTIONS} connections, ` +
      `${ROUNDS} rounds, settings ${SETTINGS.join('/')}, load ${os.loadavg()[0]!.toFixed(1)}` +
      (PIN ? `, the service pinned to core ${PIN.service}, the rest to ${PIN.rest}` : '') +
      (Object.keys(EXTRA).length ? `, extra ${JSON.stringify(EXTRA)}` : ''),
  );
  for (const target of await targets()) {
    const results: Record<
      string,
      Array<{
        rps: number;
        p99: number;
        bad: number;
        cpu: number;
        shipCpu: number;
        backendCpu: number;
        loaderCpu: number;
        /** When the run started (ms): pairs each run with the `off` run nearest in time. */
        at: number;
      }>
    > = {};
    for (let round = 0; round < ROUNDS; round++) {
      // Each round in another order: no setting always runs after the exporting ones (whose
      // spans Jaeger and Elasticsearch are still indexing on the same cores).
      const order = settings.map((_, i) => settings[(i + round) % settings.length]!);
      for (const setting of order) {
        await sleep(SETTLE * 1000);
        await backendIdle();
        const at = Date.now();
        const r = { ...(await run(target, setting, round)), at };
        (results[setting.name] ??= []).push(r);
        console.log(
          `  ${target.service} ${setting.name.padEnd(8)} round ${round + 1}: ` +
            `${Math.round(r.rps)} req/s, p99 ${r.p99} ms, CPU ${r.cpu.toFixed(0)} ms` +
            `${r.shipCpu ? ` + shipper ${r.shipCpu.toFixed(0)} ms` : ''} per 1,000` +
            `; Jaeger + Elasticsearch ${r.backendCpu.toFixed(0)} ms, autocannon ${r.loaderCpu.toFixed(0)} ms` +
            `${r.bad ? `, ${r.bad} not 2xx` : ''}`,
        );
      }
    }
    // Means move with whatever else the cores run, and now and then a whole run of a process is
    // slower; the median ignores such a run, and the best round of each setting (highest req/s,
    // lowest CPU per request) is the least disturbed: all three are printed. The machine's speed
    // also drifts over tens of seconds (three `off` runs in a row agree, the next three can all be
    // 20 % slower): `paired` compares each run with the `off` run nearest in time and takes the
    // median of those costs.
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const median = (xs: number[]) => {
      const sorted = [...xs].sort((a, b) => a - b);
      const mid = sorted.length >> 1;
      return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
    };
    const summary = (list: (typeof results)[string]) => ({
      rps: mean(list.map((r) => r.rps)),
      cpu: mean(list.map((r) => r.cpu)),
      ship: mean(list.map((r) => r.shipCpu)),
      backend: mean(list.map((r) => r.backendCpu)),
      medRps: median(list.map((r) => r.rps)),
      medCpu: median(list.map((r) => r.cpu)),
      bestRps: Math.max(...list.map((r) => r.rps)),
      bestCpu: Math.min(...list.map((r) => r.cpu)),
      p99: Math.max(...list.map((r) => r.p99)),
    });
    const off = results.off ? summary(results.off) : undefined;
    const paired = (list: (typeof results)[string], key: 'rps' | 'cpu') => {
      const offs = results.off;
      if (!offs?.length) return 'n/a';
      const costs = list.map((r) => {
        const near = offs.reduce((a, b) => (Math.abs(b.at - r.at) < Math.abs(a.at - r.at) ? b : a));
        return key === 'rps' ? 1 - r.rps / near.rps : r.cpu / near.cpu - 1;
      });
      return `${(100 * median(costs)).toFixed(1)} %`;
    };
    const pct = (value: number, base: number | undefined, more: boolean) =>
      base === undefined
        ? 'n/a'
        : `${(100 * (more ? value / base - 1 : 1 - value / base)).toFixed(1)} %`;
    console.log(`${target.service}:`);
    for (const setting of settings) {
      const s = summary(results[setting.name]!);
      console.log(
        `  ${setting.name.padEnd(8)} mean ${Math.round(s.rps)} req/s, CPU ${s.cpu.toFixed(0)}` +
          `${s.ship ? ` + shipper ${s.ship.toFixed(0)}` : ''} ms per 1,000; ` +
          `median ${Math.round(s.medRps)} req/s, CPU ${s.medCpu.toFixed(0)}; ` +
          `best ${Math.round(s.bestRps)} req/s, CPU ${s.bestCpu.toFixed(0)} ms per 1,000 ` +
          `(p99 <= ${s.p99} ms); Jaeger + Elasticsearch ${s.backend.toFixed(0)} ms per 1,000` +
          (setting.name === 'off'
            ? ''
            : `; cost: throughput ${pct(s.rps, off?.rps, false)} mean, ` +
              `${pct(s.medRps, off?.medRps, false)} median, ` +
              `${pct(s.bestRps, off?.bestRps, false)} best, ` +
              `${paired(results[setting.name]!, 'rps')} paired; CPU ${pct(s.cpu, off?.cpu, true)} ` +
              `mean, ${pct(s.medCpu, off?.medCpu, true)} median, ` +
              `${pct(s.bestCpu, off?.bestCpu, true)} best, ` +
              `${paired(results[setting.name]!, 'cpu')} paired`),
      );
    }
  }
}

main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
    if (PIN) pinOthers(PIN.all);
    // Elasticsearch refuses wildcard deletes: by name.
    const listed = await fetch(`${ES}/_cat/indices/logs-overhead-${id}-*?format=json&h=index`)
      .then((r) => r.json() as Promise<Array<{ index: string }>>)
      .catch(() => []);
    for (const { index } of listed) {
      await fetch(`${ES}/${index}`, { method: 'DELETE' }).then((r) => r.arrayBuffer());
    }
    await deleteTopics(`overhead-${id}.`).catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  });
