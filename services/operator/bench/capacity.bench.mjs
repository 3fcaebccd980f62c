#!/usr/bin/env node
/**
 * The per-server figures of docs/capacity.md (on demand: `npm run bench -w services/operator`).
 * Needs the built @cinema/clickhouse (`node scripts/build.mjs`) and Kafka: KAFKA_BROKERS, else the
 * running local stack's broker (.stack/state.json, whose pid gives the broker's CPU time).
 *
 * 1. Kafka, one broker: BENCH_EVENTS player events (the collector's JSON, ~250 bytes, keyed by
 *    user) produced as the collector produces them (idempotent kafkajs producer, acks=all, no
 *    compression) in BENCH_KAFKA_BATCH-message sends, BENCH_INFLIGHT at a time, to a 3-partition
 *    topic; then read back by one consumer. Prints events/s, the broker's CPU time per 1,000
 *    events (from /proc/<pid>/stat: the figure that moves least with the machine's other load)
 *    and the bytes each event takes in the partition logs (one replica).
 * 2. ClickHouse (the embedded engine, chDB, in a temporary folder): BENCH_ROWS rows of the
 *    ugc-etl pause table (ReplacingMergeTree, the same columns) inserted as JSONEachRow in
 *    BENCH_CH_BATCH-row batches (ugc-etl's BATCH_MAX_ROWS default); rows/s, this process's CPU
 *    time per 1,000 rows (engine and client share the process) and the bytes on disk per row.
 * The run's topic and folder are deleted at the end.
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { createClickHouse } from '@cinema/clickhouse';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const num = (name, fallback) => Number(process.env[name] ?? fallback);
const EVENTS = num('BENCH_EVENTS', 200_000);
const KAFKA_BATCH = num('BENCH_KAFKA_BATCH', 500);
const INFLIGHT = num('BENCH_INFLIGHT', 4);
const ROWS = num('BENCH_ROWS', 200_000);
const CH_BATCH = num('BENCH_CH_BATCH', 5_000);

const state = (() => {
  try {
    return JSON.parse(fs.readFileSync(path.join(root, '.stack/state.json'), 'utf8')).servers.kafka;
  } catch {
    return undefined;
  }
})();
const brokers = (process.env.KAFKA_BROKERS ?? state?.env?.KAFKA_BROKERS)?.split(',');
if (!brokers) throw new Error('no KAFKA_BROKERS and no running stack Kafka');
const brokerPid = process.env.KAFKA_BROKERS ? undefined : state?.pid;
const TICK = 100; // USER_HZ: /proc/<pid>/stat counts CPU time in 1/100 s on Linux

/** CPU seconds (user + system) of a process so far. */
function cpuOf(pid) {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICK;
}
const loadavg = () => os.loadavg()[0].toFixed(1);

/** Bytes of a topic's partition logs on the stack broker's disk (NaN when not the stack's). */
function logBytes(topic) {
  if (!brokerPid) return NaN;
  const props = fs.readFileSync(path.join(root, '.stack/data/kafka/server.properties'), 'utf8');
  const dir = /^log\.dirs=(.+)$/m.exec(props)?.[1];
  if (!dir) return NaN;
  let total = 0;
  for (const sub of fs.readdirSync(dir).filter((d) => d.startsWith(`${topic}-`)))
    for (const f of fs.readdirSync(path.join(dir, sub)).filter((x) => x.endsWith('.log')))
      total += fs.statSync(path.join(dir, sub, f)).size;
  return total;
}

function event(i) {
  const now = new Date().toISOString();
  return {
    event_id: randomUUID(),
    user_id: `user-${i % 5000}`,
    film_id: randomUUID(),
    client_time: now,
    received_time: now,
    position_sec: (i % 7200) + 0.5,
  };
}

async function kafkaBench() {
  const kafka = new Kafka({ clientId: 'capacity-bench', brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const topic = `capacity-bench-${randomUUID().slice(0, 8)}`;
  await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const values = Array.from({ length: KAFKA_BATCH }, (_, i) => {
    const e = event(i);
    return { key: e.user_id, value: JSON.stringify(e) };
  });
  const bytes = values.reduce((s, m) => s + m.value.length, 0) / values.length;
  try {
    const cpu0 = brokerPid ? cpuOf(brokerPid) : undefined;
    const t0 = Date.now();
    let sent = 0;
    const worker = async () => {
      while (sent < EVENTS) {
        sent += KAFKA_BATCH;
        await producer.send({ topic, messages: values });
      }
    };
    await Promise.all(Array.from({ length: INFLIGHT }, worker));
    const produceS = (Date.now() - t0) / 1000;
    const produceCpu = brokerPid ? cpuOf(brokerPid) - cpu0 : undefined;
    const total = sent;
    const diskPerEvent = logBytes(topic) / total;

    const consumer = kafka.consumer({ groupId: `${topic}-reader` });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const cpu1 = brokerPid ? cpuOf(brokerPid) : undefined;
    const t1 = Date.now();
    let read = 0;
    await new Promise((resolve) => {
      void consumer.run({
        eachBatchAutoResolve: true,
        eachBatch: async ({ batch }) => {
          read += batch.messages.length;
          if (read >= total) resolve();
        },
      });
    });
    const consumeS = (Date.now() - t1) / 1000;
    const consumeCpu = brokerPid ? cpuOf(brokerPid) - cpu1 : undefined;
    await consumer.disconnect();
    return {
      events: total,
      bytesPerEvent: Math.round(bytes),
      logBytesPerEvent: Number.isFinite(diskPerEvent) ? Math.round(diskPerEvent) : 'n/a',
      produce: {
        eventsPerS: Math.round(total / produceS),
        brokerCpuMsPer1000:
          produceCpu === undefined ? 'n/a' : +((produceCpu / total) * 1e6).toFixed(1),
      },
      consume: {
        eventsPerS: Math.round(read / consumeS),
        brokerCpuMsPer1000:
          consumeCpu === undefined ? 'n/a' : +((consumeCpu / read) * 1e6).toFixed(1),
      },
    };
  } finally {
    await producer.disconnect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  }
}

async function clickhouseBench() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capacity-chdb-'));
  const ch = createClickHouse({ path: dir });
  try {
    await ch.command({
      query: `CREATE TABLE pauses (
        event_id UUID, user_id String, film_id UUID,
        event_time DateTime64(3, 'UTC'), received_time DateTime64(3, 'UTC'),
        position_sec Float64
      ) ENGINE = ReplacingMergeTree PARTITION BY toYYYYMM(event_time) ORDER BY (film_id, event_id)`,
    });
    const chTime = (iso) => iso.replace('T', ' ').replace('Z', '');
    const cpu0 = process.cpuUsage();
    const t0 = Date.now();
    let rows = 0;
    while (rows < ROWS) {
      const batch = Array.from({ length: CH_BATCH }, (_, i) => {
        const e = event(rows + i);
        return {
          event_id: e.event_id,
          user_id: e.user_id,
          film_id: e.film_id,
          event_time: chTime(e.client_time),
          received_time: chTime(e.received_time),
          position_sec: e.position_sec,
        };
      });
      await ch.insert({ table: 'pauses', values: batch, format: 'JSONEachRow' });
      rows += CH_BATCH;
    }
    const s = (Date.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const count = await (
      await ch.query({ query: 'SELECT count() AS n FROM pauses FINAL', format: 'JSONEachRow' })
    ).json();
    // Compressed size on disk per row (the active parts; merges continue in the background).
    const [disk] = await (
      await ch.query({
        query: `SELECT sum(bytes_on_disk) AS bytes, sum(rows) AS n FROM system.parts
                WHERE database = currentDatabase() AND table = 'pauses' AND active`,
        format: 'JSONEachRow',
      })
    ).json();
    return {
      rows,
      batch: CH_BATCH,
      bytesOnDiskPerRow: +(Number(disk.bytes) / Number(disk.n)).toFixed(1),
      rowsPerS: Math.round(rows / s),
      processCpuMsPer1000: +(((cpu.user + cpu.system) / 1000 / rows) * 1000).toFixed(1),
      counted: Number(count[0].n),
    };
  } finally {
    await ch.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const started = new Date().toISOString();
const loadBefore = loadavg();
const kafka = await kafkaBench();
const clickhouse = await clickhouseBench();
console.log(
  JSON.stringify({ started, load: `${loadBefore} -> ${loadavg()}`, kafka, clickhouse }, null, 2),
);
