#!/usr/bin/env node
/**
 * Collector benchmark (on demand: `npm run bench -w services/ugc-collector`). Needs a built
 * service (`node scripts/tsoa.mjs services/ugc-collector && npx tsc -b services/ugc-collector`)
 * and Kafka: KAFKA_BROKERS, else the running local stack's broker (.stack/state.json).
 * Prints: single-event endpoint events/s, batch endpoint events/s (100 events per request),
 * raw kafkajs idempotent producer events/s (acks=all, 1,000-message batches) as the reference,
 * and the collector's peak RSS. Autocannon, 50 connections, on the same machine. Each endpoint
 * first gets BENCH_WARMUP_SECONDS (default 3) of the same load, not counted: in a cold process the
 * first second runs at a third of the rate while V8 compiles the hot path. Each endpoint also
 * prints the collector's CPU time per 1,000 events (user + system, from /proc): on a machine
 * shared with other work the rate moves with the load, the CPU cost much less.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import autocannon from 'autocannon';
import { Kafka, logLevel } from 'kafkajs';
// TypeScript source, loaded through tsx with bench/tsconfig.json's path (see the `bench` script);
// a CommonJS module to this ES module, hence the default import.
import testing from '@cinema/testing';

const { deleteTopicsWithPrefix } = testing;

const root = path.resolve(new URL('../../..', import.meta.url).pathname);
const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const warmup = Number(process.env.BENCH_WARMUP_SECONDS ?? 3);
const brokers =
  process.env.KAFKA_BROKERS ??
  JSON.parse(fs.readFileSync(path.join(root, '.stack/state.json'), 'utf8')).servers.kafka?.env
    .KAFKA_BROKERS;
if (!brokers) throw new Error('no KAFKA_BROKERS and no running stack Kafka');
const prefix = `bench-${randomUUID().slice(0, 8)}.`;

const freePort = () =>
  new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

function peakRss(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Math.round(Number(/VmHWM:\s+(\d+)/.exec(status)[1]) / 1024);
}

const event = (type, extra) => ({
  type,
  event_id: randomUUID(),
  film_id: '3fa85f64-5717-4562-b3fc-2c963f66afa6',
  client_time: new Date().toISOString(),
  ...extra,
});

const clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }));

/** User + system CPU seconds of a process so far. */
function cpuSeconds(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / clockTicks;
}

async function cannon(url, body, title, pid, eventsPerRequest) {
  const load = (duration) =>
    autocannon({
      url,
      method: 'POST',
      connections: 50,
      duration,
      headers: { 'content-type': 'application/json', 'x-anonymous-id': 'bench-viewer' },
      body: JSON.stringify(body),
    });
  if (warmup > 0) await load(warmup);
  const cpuBefore = cpuSeconds(pid);
  const result = await load(seconds);
  const cpu = cpuSeconds(pid) - cpuBefore;
  const non2xx = result.non2xx + result.errors;
  const events = result['2xx'] * eventsPerRequest;
  console.log(
    `${title}: ${Math.round(result.requests.average)} req/s, p99 ${result.latency.p99} ms, ` +
      `collector CPU ${((1000 * 1000 * cpu) / events).toFixed(0)} ms per 1,000 events` +
      (non2xx ? `, ${non2xx} not 202` : ''),
  );
  return result.requests.average;
}

async function rawProducer() {
  const kafka = new Kafka({
    clientId: 'bench-raw',
    brokers: [brokers],
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: `${prefix}raw`, numPartitions: 3 }] });
  await admin.disconnect();
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const value = JSON.stringify({
    ...event('pause', { position_sec: 12.5 }),
    user_id: 'anon:bench-viewer',
    received_time: new Date().toISOString(),
  });
  const messages = Array.from({ length: 1000 }, (_, i) => ({ key: `user-${i % 50}`, value }));
  let sent = 0;
  const started = Date.now();
  while (Date.now() - started < seconds * 1000) {
    await producer.sendBatch({ topicMessages: [{ topic: `${prefix}raw`, messages }], acks: -1 });
    sent += messages.length;
  }
  const rate = sent / ((Date.now() - started) / 1000);
  await producer.disconnect();
  console.log(
    `raw kafkajs producer (idempotent, acks=all, 1,000-message batches): ${Math.round(rate)} events/s`,
  );
  return rate;
}

const port = await freePort();
const child = spawn(process.execPath, [path.join(root, 'services/ugc-collector/dist/main.js')], {
  env: {
    ...process.env,
    PORT: String(port),
    LOG_LEVEL: 'warn',
    KAFKA_BROKERS: brokers,
    KAFKA_TOPIC_PREFIX: prefix,
    BODY_LIMIT: '1mb',
  },
  stdio: ['ignore', 'inherit', 'inherit'],
});
try {
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    const ok = await fetch(`${base}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (i > 100) throw new Error('collector not ready');
    await new Promise((r) => setTimeout(r, 200));
  }
  console.log(`collector on ${base}, Kafka ${brokers}, ${seconds} s per run, 50 connections`);
  const single = await cannon(
    `${base}/api/pause`,
    Object.fromEntries(
      Object.entries(event('pause', { position_sec: 12.5 })).filter(([k]) => k !== 'type'),
    ),
    'POST /api/pause (one event per request)',
    child.pid,
    1,
  );
  const batch = Array.from({ length: 100 }, (_, i) =>
    i % 10 === 0
      ? event('quality_change', { from_quality: '360p', to_quality: '720p', position_sec: i })
      : event('pause', { position_sec: i }),
  );
  const batchReqs = await cannon(
    `${base}/api/events`,
    { events: batch },
    'POST /api/events (100 events per request)',
    child.pid,
    100,
  );
  const raw = await rawProducer();
  console.log('--- figures ---');
  // Every request goes through Express + tsoa: bare Express 4 answers about 4,200 small JSON
  // POSTs/s on the 2-core machine, the ceiling of this endpoint. Volume belongs to the batch one.
  console.log(`single-event endpoint: ${Math.round(single)} events/s (bare Express: ~4,200 req/s)`);
  console.log(`batch endpoint: ${Math.round(batchReqs * 100)} events/s`);
  console.log(`raw kafkajs producer: ${Math.round(raw)} events/s`);
  console.log(
    `batch endpoint / raw producer: ${((batchReqs * 100) / raw).toFixed(2)} (target >= 0.5)`,
  );
  console.log(`collector peak RSS: ${peakRss(child.pid)} MB (target < 300)`);
} finally {
  child.kill('SIGTERM');
  if (child.exitCode === null) await new Promise((r) => child.once('exit', r));
  await deleteTopicsWithPrefix(prefix, brokers).catch((err) =>
    console.error(`could not delete the bench topics (${prefix}*): ${err.message}`),
  );
}
