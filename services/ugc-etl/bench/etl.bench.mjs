#!/usr/bin/env node
/* global setInterval, clearInterval */
/**
 * ETL benchmark (on demand: `npm run bench -w services/ugc-etl`). Needs built services
 * (`npx tsc -b services/ugc-etl services/ugc-collector`, after `node scripts/tsoa.mjs` on each)
 * and Kafka: KAFKA_BROKERS, else the running local stack's broker (.stack/state.json).
 * ClickHouse: CLICKHOUSE_URL, else embedded chDB in a temporary folder.
 *
 * 1. ETL rows/s: BENCH_ROWS pause events produced to Kafka first, then loaded by the pipeline.
 * 2. Latency: the collector (child process) takes BENCH_RATE events/s in 50-event batches for
 *    BENCH_SECONDS; for each event, time from the collector's 202 to the moment the ClickHouse
 *    insert holding it returned (queryable). Prints p50/p99 and the peak RSS of both processes.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';

const root = path.resolve(new URL('../../..', import.meta.url).pathname);
const require = (await import('node:module')).createRequire(import.meta.url);
const { createPipeline } = require(path.join(root, 'services/ugc-etl/dist/pipeline.js'));
const { createLogger } = require(path.join(root, 'packages/logging/dist/index.js'));

const rows = Number(process.env.BENCH_ROWS ?? 200_000);
const rate = Number(process.env.BENCH_RATE ?? 5_000);
const seconds = Number(process.env.BENCH_SECONDS ?? 10);
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
const freePort = () =>
  new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

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

const logger = createLogger({ service: 'ugc-etl-bench', level: 'warn' });
const pipeline = await createPipeline(
  {
    KAFKA_BROKERS: [brokers],
    KAFKA_CLIENT_ID: 'ugc-etl-bench',
    KAFKA_GROUP_ID: `ugc-etl-bench-${prefix}`,
    KAFKA_TOPIC_PREFIX: prefix,
    KAFKA_TOPIC_PARTITIONS: 3,
    KAFKA_TOPIC_REPLICATION: 1,
    CLICKHOUSE_URL: process.env.CLICKHOUSE_URL,
    CHDB_PATH: chdb,
    CLICKHOUSE_DATABASE: 'tracking_user_events',
    BATCH_MAX_ROWS: Number(process.env.BATCH_MAX_ROWS ?? 10_000),
    BATCH_MAX_WAIT_MS: Number(process.env.BATCH_MAX_WAIT_MS ?? 250),
  },
  logger,
);
// Stamp when each event became queryable: the moment the insert holding it returned.
const queryable = new Map();
const insert = pipeline.ch.insert.bind(pipeline.ch);
pipeline.ch.insert = async (params) => {
  const result = await insert(params);
  const at = Date.now();
  for (const v of params.values) if (v.film_id === film) queryable.set(v.event_id, at);
  return result;
};
const started = Date.now();
await pipeline.start();
while (pipeline.sink.stats.rows < rows) await new Promise((r) => setTimeout(r, 50));
const loadSeconds = (Date.now() - started) / 1000;
console.log(
  `ETL: ${rows} rows in ${loadSeconds.toFixed(1)} s = ${Math.round(rows / loadSeconds)} rows/s ` +
    `(${pipeline.sink.stats.inserts} inserts, consumer start included)`,
);

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
const accepted = new Map();
let failed = 0;
const batchSize = 50;
const tick = 10;
const perTick = (rate * tick) / 1000;
let due = 0;
const t0 = Date.now();
const inflight = new Set();
await new Promise((resolve) => {
  const timer = setInterval(() => {
    if (Date.now() - t0 >= seconds * 1000) {
      clearInterval(timer);
      resolve();
      return;
    }
    due += perTick;
    while (due >= batchSize) {
      due -= batchSize;
      const events = Array.from({ length: batchSize }, () => ({
        type: 'pause',
        event_id: randomUUID(),
        film_id: film,
        position_sec: 1,
        client_time: new Date().toISOString(),
      }));
      const p = fetch(`${base}/api/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-anonymous-id': 'bench-viewer' },
        body: JSON.stringify({ events }),
      })
        .then(async (res) => {
          await res.arrayBuffer();
          if (res.status !== 202) failed += batchSize;
          else for (const e of events) accepted.set(e.event_id, Date.now());
        })
        .catch(() => (failed += batchSize));
      inflight.add(p);
      void p.finally(() => inflight.delete(p));
    }
  }, tick);
});
await Promise.all([...inflight]);
const sentFor = (Date.now() - t0) / 1000;
const deadline = Date.now() + 20_000;
while ([...accepted.keys()].some((id) => !queryable.has(id)) && Date.now() < deadline) {
  await new Promise((r) => setTimeout(r, 100));
}
const lat = [...accepted]
  .filter(([id]) => queryable.has(id))
  .map(([id, at]) => Math.max(0, queryable.get(id) - at))
  .sort((a, b) => a - b);
console.log(
  `latency at ${rate} events/s for ${sentFor.toFixed(1)} s: ${accepted.size} accepted (${Math.round(accepted.size / sentFor)} events/s), ${failed} not accepted, ` +
    `${lat.length} queryable; 202 -> queryable p50 ${pct(lat, 50)} ms, p99 ${pct(lat, 99)} ms, max ${lat.at(-1)} ms`,
);
console.log(
  `peak RSS: ETL (this process) ${peakRss(process.pid)} MB, collector ${peakRss(collector.pid)} MB`,
);
collector.kill('SIGTERM');
await pipeline.stop();
fs.rmSync(chdb, { recursive: true, force: true });
process.exit(0);
