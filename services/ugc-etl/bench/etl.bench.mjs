#!/usr/bin/env node
/* global setInterval, clearInterval */
/**
 * ETL benchmark (on demand: `npm run bench -w services/ugc-etl`). Needs built services
 * (`npx tsc -b services/ugc-etl services/ugc-collector`, after `node scripts/tsoa.mjs` on each)
 * and Kafka: KAFKA_BROKERS, else the running local stack's broker (.stack/state.json).
 * ClickHouse: CLICKHOUSE_URL, else embedded chDB in a temporary folder.
 *
 * The ETL runs in its own process (bench/etl-process.mjs: the service's config and pipeline),
 * apart from this load generator, so its RSS is its own; ETL settings (BATCH_MAX_ROWS, ...) are
 * read from the environment as the service reads them.
 *
 * 1. ETL rows/s: BENCH_ROWS pause events produced to Kafka first, then loaded by the pipeline.
 * 2. Latency: the collector (child process) takes BENCH_RATE events/s for BENCH_SECONDS, in
 *    BENCH_BATCH-event batches (default 1: the single-event endpoint `/api/pause`); for each
 *    event, time from the collector's 202 to the moment the ClickHouse insert holding it returned
 *    (queryable). Prints p50/p99, the peak RSS of the ETL and collector processes and the ETL's
 *    RSS sampled during each phase.
 * 3. The service process itself (dist/main.js as `npm start` runs it: telemetry preload, HTTP
 *    API) loads every event of the run with a new consumer group (its peak RSS), then takes
 *    BENCH_RATE events/s through the collector for BENCH_HEAP_SECONDS (default 60; the heap
 *    criterion is a 10-minute run: BENCH_HEAP_SECONDS=600). Every BENCH_SAMPLE_SECONDS (5) the
 *    service's V8 heap in use (`nodejs_heap_size_used_bytes` of its /metrics) and its RSS
 *    (/proc) are sampled; printed: each one's linear trend (least squares, MB per minute) and
 *    the medians of the first and the last third of the samples. Flat means no growth trend.
 * The run's topics are deleted at the end.
 */
import { fork, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
// @cinema/testing is TypeScript without a build: tsx maps it to its source (bench/tsconfig.json).
import testing from '@cinema/testing';

const { deleteTopicsWithPrefix, freePort } = testing;

const root = path.resolve(new URL('../../..', import.meta.url).pathname);

const rows = Number(process.env.BENCH_ROWS ?? 200_000);
const rate = Number(process.env.BENCH_RATE ?? 5_000);
const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const batchSize = Number(process.env.BENCH_BATCH ?? 1);
const heapSeconds = Number(process.env.BENCH_HEAP_SECONDS ?? 60);
const sampleSeconds = Number(process.env.BENCH_SAMPLE_SECONDS ?? 5);
const brokers =
  process.env.KAFKA_BROKERS ??
  JSON.parse(fs.readFileSync(path.join(root, '.stack/state.json'), 'utf8')).servers.kafka?.env
    .KAFKA_BROKERS;
if (!brokers) throw new Error('no KAFKA_BROKERS and no running stack Kafka');
const prefix = `bench-${randomUUID().slice(0, 8)}.`;
const chdb = fs.mkdtempSync(path.join(os.tmpdir(), 'ugc-etl-bench-'));
const film = randomUUID();
const pct = (xs, p) => xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
const peakRss = (pid) =>
  Math.round(
    Number(/VmHWM:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024,
  );
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
/** Least-squares slope of (minute, MB) points, in MB per minute. */
const slope = (points) => {
  const n = points.length;
  const mx = points.reduce((a, p) => a + p[0], 0) / n;
  const my = points.reduce((a, p) => a + p[1], 0) / n;
  const sxy = points.reduce((a, p) => a + (p[0] - mx) * (p[1] - my), 0);
  const sxx = points.reduce((a, p) => a + (p[0] - mx) ** 2, 0);
  return sxx ? sxy / sxx : 0;
};
/** Trend and first/last-third medians of samples [{ at (ms), mb }]. */
const trend = (samples) => {
  const t0 = samples[0].at;
  const third = Math.max(1, Math.floor(samples.length / 3));
  const mbs = samples.map((x) => x.mb);
  return {
    perMinute: slope(samples.map((x) => [(x.at - t0) / 60_000, x.mb])),
    first: median(mbs.slice(0, third)),
    last: median(mbs.slice(-third)),
    min: Math.min(...mbs),
    max: Math.max(...mbs),
  };
};

// 1. Preload Kafka.
const kafka = new Kafka({ clientId: 'etl-bench', brokers: [brokers], logLevel: logLevel.NOTHING });
const admin = kafka.admin();
await admin.connect();
await admin.createTopics({
  topics: ['pauses', 'full_views', 'quality_changes'].map((t) => ({
    topic: `${prefix}tracking.clicks_on_video.${t}`,
    numPartitions: 3,
  })),
});
await admin.disconnect();
const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
await producer.connect();
const now = new Date().toISOString();
for (let sent = 0; sent < rows; sent += 5000) {
  await producer.send({
    topic: `${prefix}tracking.clicks_on_video.pauses`,
    acks: -1,
    messages: Array.from({ length: Math.min(5000, rows - sent) }, (_, i) => ({
      key: `user-${i % 100}`,
      value: JSON.stringify({
        event_id: randomUUID(),
        user_id: `user-${i % 100}`,
        film_id: randomUUID(),
        position_sec: i % 7200,
        client_time: now,
        received_time: now,
      }),
    })),
  });
}
await producer.disconnect();

const queryable = new Map();
let etlRows = 0;
// Peaks per phase: RSS of the ETL process, and its V8 heap + external buffers within that.
const phaseRss = { load: { rss: 0 }, latency: { rss: 0 } };
const phaseHeap = { load: 0, latency: 0 };
let phase = 'load';
// The ETL process starts as `npm start` starts the service: with the manifest's node flags and
// environment defaults (cinema.nodeArgs, cinema.env: none today), unless BENCH_ETL_NODE_ARGS.
const manifest = JSON.parse(
  fs.readFileSync(path.join(root, 'services/ugc-etl/package.json'), 'utf8'),
).cinema;
const etlNodeArgs = (process.env.BENCH_ETL_NODE_ARGS ?? (manifest.nodeArgs ?? []).join(' '))
  .split(' ')
  .filter(Boolean);
console.log(
  `ETL process: node ${etlNodeArgs.join(' ')}, env ${JSON.stringify(manifest.env ?? {})}`,
);
const etl = fork(path.join(root, 'services/ugc-etl/bench/etl-process.mjs'), {
  env: {
    ...manifest.env,
    ...process.env,
    LOG_LEVEL: 'warn',
    KAFKA_BROKERS: brokers,
    KAFKA_CLIENT_ID: 'ugc-etl-bench',
    KAFKA_GROUP_ID: `ugc-etl-bench-${prefix}`,
    KAFKA_TOPIC_PREFIX: prefix,
    CHDB_PATH: chdb,
    BENCH_FILM: film,
  },
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  execArgv: etlNodeArgs,
});
etl.on('message', (m) => {
  if (m.kind === 'rows') {
    etlRows = m.rows;
    phaseHeap[phase] = Math.max(phaseHeap[phase], m.heapMb);
  } else if (m.kind === 'queryable') for (const id of m.ids) queryable.set(id, m.at);
});
const etlExit = new Promise((resolve) => etl.once('exit', resolve));
// RSS of the ETL process sampled every 100 ms, per phase: total, anonymous (heaps) and
// file-backed (mapped code, mostly chDB's library: shared and reclaimable by the kernel).
const rssParts = (pid) => {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const mb = (key) => Math.round(Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)[1]) / 1024);
  return { rss: mb('VmRSS'), anon: mb('RssAnon'), file: mb('RssFile') };
};
const sampler = setInterval(() => {
  try {
    const now = rssParts(etl.pid);
    if (now.rss > phaseRss[phase].rss) phaseRss[phase] = now;
  } catch {
    /* exited */
  }
}, 100);
const started = Date.now();
while (etlRows < rows) {
  if (etl.exitCode !== null) throw new Error('the ETL process exited');
  await new Promise((r) => setTimeout(r, 20));
}
const loadSeconds = (Date.now() - started) / 1000;
console.log(
  `ETL: ${rows} rows in ${loadSeconds.toFixed(1)} s = ${Math.round(rows / loadSeconds)} rows/s ` +
    `(process start, ClickHouse schema and consumer group join included)`,
);
phase = 'latency';

// 2. Latency at a fixed rate through the collector.
const port = await freePort();
const collector = spawn(
  process.execPath,
  [path.join(root, 'services/ugc-collector/dist/main.js')],
  {
    env: {
      ...process.env,
      PORT: String(port),
      LOG_LEVEL: 'warn',
      KAFKA_BROKERS: brokers,
      KAFKA_TOPIC_PREFIX: prefix,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  },
);
const base = `http://127.0.0.1:${port}`;
for (
  let i = 0;
  !(await fetch(`${base}/readyz`).then(
    (r) => r.ok,
    () => false,
  ));
  i++
) {
  if (i > 100) throw new Error('collector not ready');
  await new Promise((r) => setTimeout(r, 200));
}
// node:http with keep-alive (fetch costs this process too much CPU at thousands of requests/s).
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
const post = (url, body) =>
  new Promise((resolve, reject) => {
    const data = JSON.stringify(body);
    const req = http.request(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(data),
          'x-anonymous-id': 'bench-viewer',
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(data);
  });
const newEvent = () => ({
  event_id: randomUUID(),
  film_id: film,
  position_sec: 1,
  client_time: new Date().toISOString(),
});
/**
 * Sends `rate` events/s to the collector for `forSeconds`, open loop: what is due follows the
 * clock (rate x elapsed time), so a late timer tick sends the events it owes instead of silently
 * lowering the rate. Returns the accepted events (id -> time of the 202), the count not accepted
 * and the seconds it took.
 */
async function drive(forSeconds) {
  const accepted = new Map();
  let failed = 0;
  const tick = 10;
  let sent = 0;
  const t0 = Date.now();
  const inflight = new Set();
  await new Promise((resolve) => {
    const timer = setInterval(() => {
      if (Date.now() - t0 >= forSeconds * 1000) {
        clearInterval(timer);
        resolve();
        return;
      }
      const due = Math.floor((rate * (Date.now() - t0)) / 1000);
      while (due - sent >= batchSize) {
        sent += batchSize;
        const events = Array.from({ length: batchSize }, newEvent);
        const [url, body] =
          batchSize === 1
            ? [`${base}/api/pause`, events[0]]
            : [`${base}/api/events`, { events: events.map((e) => ({ type: 'pause', ...e })) }];
        const p = post(url, body)
          .then((status) => {
            if (status !== 202) failed += batchSize;
            else for (const e of events) accepted.set(e.event_id, Date.now());
          })
          .catch(() => (failed += batchSize));
        inflight.add(p);
        void p.finally(() => inflight.delete(p));
      }
    }, tick);
  });
  await Promise.all([...inflight]);
  return { accepted, failed, seconds: (Date.now() - t0) / 1000 };
}
const endpoint =
  batchSize === 1
    ? 'POST /api/pause, one event per request'
    : `POST /api/events, ${batchSize} per request`;
const { accepted, failed, seconds: sentFor } = await drive(seconds);
const deadline = Date.now() + 20_000;
while ([...accepted.keys()].some((id) => !queryable.has(id)) && Date.now() < deadline) {
  await new Promise((r) => setTimeout(r, 100));
}
const lat = [...accepted]
  .filter(([id]) => queryable.has(id))
  .map(([id, at]) => Math.max(0, queryable.get(id) - at))
  .sort((a, b) => a - b);
console.log(
  `latency at ${rate} events/s (${endpoint}) for ${sentFor.toFixed(1)} s: ${accepted.size} accepted (${Math.round(accepted.size / sentFor)} events/s), ${failed} not accepted, ` +
    `${lat.length} queryable; 202 -> queryable p50 ${pct(lat, 50)} ms, p99 ${pct(lat, 99)} ms, max ${lat.at(-1)} ms`,
);
clearInterval(sampler);
const fmt = (p) => `${p.rss} MB (anonymous ${p.anon}, file-backed ${p.file})`;
console.log(
  `ETL process RSS: peak ${peakRss(etl.pid)} MB; loading ${rows} rows ${fmt(phaseRss.load)}, ` +
    `V8 heap + buffers ${phaseHeap.load} MB; at ${rate} events/s ${fmt(phaseRss.latency)}, ` +
    `V8 heap + buffers ${phaseHeap.latency} MB`,
);
etl.send('stop');
await etlExit;
fs.rmSync(chdb, { recursive: true, force: true });

// 3. The service itself (dist/main.js as `npm start` runs it: manifest flags and environment,
//    the telemetry preload, the HTTP API) loading the same topics from the start with a new
//    consumer group into a new chDB folder: its RSS while it does, up to the last offset; then
//    its heap and RSS over BENCH_HEAP_SECONDS at BENCH_RATE events/s.
const serviceChdb = fs.mkdtempSync(path.join(os.tmpdir(), 'ugc-etl-bench-svc-'));
const groupId = `ugc-etl-bench-svc-${prefix}`;
const topics = ['pauses', 'full_views', 'quality_changes'].map(
  (t) => `${prefix}tracking.clicks_on_video.${t}`,
);
const kafkaAdmin = kafka.admin();
await kafkaAdmin.connect();
let total = 0;
for (const topic of topics) {
  for (const p of await kafkaAdmin.fetchTopicOffsets(topic)) total += Number(p.high);
}
const servicePort = await freePort();
const service = spawn(
  process.execPath,
  [
    ...etlNodeArgs,
    '--require',
    path.join(root, 'packages/telemetry/dist/register.js'),
    path.join(root, 'services/ugc-etl/dist/main.js'),
  ],
  {
    env: {
      ...manifest.env,
      ...process.env,
      PORT: String(servicePort),
      LOG_LEVEL: 'warn',
      KAFKA_BROKERS: brokers,
      KAFKA_GROUP_ID: groupId,
      KAFKA_TOPIC_PREFIX: prefix,
      CHDB_PATH: serviceChdb,
      // The read API is not called here: no issuer is needed.
      AUTH_JWKS_URL: 'http://127.0.0.1:9/.well-known/jwks.json',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  },
);
let servicePeak = { rss: 0 };
const serviceSampler = setInterval(() => {
  try {
    const now = rssParts(service.pid);
    if (now.rss > servicePeak.rss) servicePeak = now;
  } catch {
    /* exited */
  }
}, 100);
const serviceStart = Date.now();
let committed = 0;
const committedNow = async () => {
  let n = 0;
  for (const t of await kafkaAdmin.fetchOffsets({ groupId, topics })) {
    for (const p of t.partitions) n += Math.max(0, Number(p.offset));
  }
  return n;
};
while (committed < total && Date.now() - serviceStart < 120_000) {
  if (service.exitCode !== null) throw new Error(`ugc-etl exited with ${service.exitCode}`);
  await new Promise((r) => setTimeout(r, 250));
  committed = await committedNow();
}
const serviceSeconds = (Date.now() - serviceStart) / 1000;
console.log(
  `ugc-etl service process (dist/main.js${etlNodeArgs.length ? `, ${etlNodeArgs.join(' ')}` : ''}, telemetry preload, HTTP API) ` +
    `loading ${committed} of ${total} events in ${serviceSeconds.toFixed(1)} s (start included): ` +
    `RSS peak ${peakRss(service.pid)} MB, sampled peak ${fmt(servicePeak)}`,
);

// Heap over time at the fixed rate: /metrics (V8 heap in use, as the service reports it) and
// /proc (RSS), every BENCH_SAMPLE_SECONDS.
const heapSamples = [];
const rssSamples = [];
const metricMb = (text, name) => {
  const m = new RegExp(`^${name} (\\S+)`, 'm').exec(text);
  return m ? Number(m[1]) / 1048576 : undefined;
};
const sample = async () => {
  const at = Date.now();
  try {
    const text = await (await fetch(`http://127.0.0.1:${servicePort}/metrics`)).text();
    const heap = metricMb(text, 'nodejs_heap_size_used_bytes');
    if (heap !== undefined) heapSamples.push({ at, mb: heap });
    rssSamples.push({ at, mb: rssParts(service.pid).rss });
  } catch (err) {
    console.warn(`sample failed: ${err.message}`);
  }
};
await sample();
const heapSampler = setInterval(() => void sample(), sampleSeconds * 1000);
const steady = await drive(heapSeconds);
clearInterval(heapSampler);
await sample();
const loaded = await committedNow();
const expected = total + steady.accepted.size;
const f = (x) => x.toFixed(1);
const describe = (name, samples) => {
  const t = trend(samples);
  return (
    `${name}: trend ${t.perMinute >= 0 ? '+' : ''}${t.perMinute.toFixed(2)} MB/min, ` +
    `median first third ${f(t.first)} MB, last third ${f(t.last)} MB (min ${f(t.min)}, max ${f(t.max)})`
  );
};
console.log(
  `ugc-etl service at ${rate} events/s (${endpoint}) for ${steady.seconds.toFixed(0)} s: ` +
    `${steady.accepted.size} accepted (${Math.round(steady.accepted.size / steady.seconds)} events/s), ` +
    `${steady.failed} not accepted; ${loaded} of ${expected} events committed at the end; ` +
    `${heapSamples.length} samples every ${sampleSeconds} s`,
);
console.log(`  ${describe('V8 heap used', heapSamples)}`);
console.log(`  ${describe('RSS', rssSamples)}`);
if (process.env.BENCH_SAMPLES_FILE) {
  fs.writeFileSync(
    process.env.BENCH_SAMPLES_FILE,
    JSON.stringify({ rate, heapSamples, rssSamples }, null, 1),
  );
}
clearInterval(serviceSampler);
console.log(`collector peak RSS: ${peakRss(collector.pid)} MB`);
collector.kill('SIGTERM');
service.kill('SIGTERM');
await new Promise((r) => service.once('exit', r));
await kafkaAdmin.disconnect();
fs.rmSync(serviceChdb, { recursive: true, force: true });
await deleteTopicsWithPrefix(prefix, brokers);
process.exit(0);
