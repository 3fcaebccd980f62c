/**
 * catalog-api benchmark: the built service (dist/main.js, a child process, LOG_LEVEL=warn, no
 * telemetry preload) on the local stack, loaded by autocannon from this process. The catalog is
 * the legacy movies.sqlite (through catalog-admin's migration and catalog-etl, run by their own
 * entry points), else 999 generated films written as catalog-etl writes them.
 *
 *   npm run bench -w services/catalog-api
 *
 * It uses a running stack whose variables are in its environment (as `npm run stack -- env`
 * prints them), else starts the servers it needs.
 *
 * Cold: every request asks something not in the cache (distinct ids or parameters after the
 * cache generation was bumped). Warm: the same requests again. Figures: p50/p99 latency and
 * requests/s at 50 connections, then p50/p99 at a fixed 1,000 requests/s on a warm cache.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { Kafka, logLevel } from 'kafkajs';
import { Client } from '@elastic/elasticsearch';
import { Redis } from 'ioredis';
import { startStack } from '@cinema/stack';
import { freePort, startTestIssuer, suffix } from '@cinema/testing';
import { generateCatalog, IndexedCatalog } from '../test/catalog-fixture';
import { loadLegacyCatalog, MOVIES } from './legacy-catalog';

const DURATION = Number(process.env.BENCH_DURATION ?? 10);
/** `fixed`: only the fixed-rate runs (after the warm-up), for quick before/after comparisons. */
const ONLY = process.env.BENCH_ONLY;
/** A folder: the service runs with `--cpu-prof` and writes its profile there on exit. */
const CPU_PROF = process.env.BENCH_CPU_PROF;

async function waitReady(url: string, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`catalog-api exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${url}/readyz`)).ok) return;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('catalog-api did not become ready');
}

interface Row {
  scenario: string;
  hitRate?: string;
  requests: number;
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
}

/**
 * Cache lookups so far from the service's /metrics, and its longest event-loop delay since the
 * previous read (prom-client resets that histogram on each read), in ms.
 */
async function cacheCounts(
  url: string,
): Promise<Record<'hit' | 'miss' | 'error' | 'loopMaxMs', number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const loopMax = /^nodejs_eventloop_lag_max_seconds (\S+)/m.exec(text)?.[1];
  const value = (result: string) =>
    Number(
      new RegExp(`catalog_api_cache_requests_total\\{result="${result}"\\} (\\d+)`).exec(
        text,
      )?.[1] ?? 0,
    );
  return {
    hit: value('hit'),
    miss: value('miss'),
    error: value('error'),
    loopMaxMs: Math.round(Number(loopMax) * 1000),
  };
}

async function run(
  scenario: string,
  url: string,
  token: string,
  paths: string[],
  opts: { amount?: number; duration?: number; connections?: number; overallRate?: number },
): Promise<Row> {
  let i = 0;
  const before = await cacheCounts(url);
  const result = await autocannon({
    url,
    connections: opts.connections ?? 50,
    ...(opts.amount ? { amount: opts.amount } : { duration: opts.duration ?? DURATION }),
    ...(opts.overallRate ? { overallRate: opts.overallRate } : {}),
    headers: { authorization: `Bearer ${token}` },
    requests: [
      {
        setupRequest: (req: autocannon.Request) => ({ ...req, path: paths[i++ % paths.length] }),
      },
    ],
  });
  const after = await cacheCounts(url);
  const hits = after.hit - before.hit;
  const lookups = hits + after.miss - before.miss + after.error - before.error;
  return {
    scenario,
    hitRate: lookups
      ? `${Math.round((hits / lookups) * 100)}%${after.error > before.error ? ` (${after.error - before.error} errors)` : ''}`
      : '-',
    requests: result.requests.total,
    rps: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx + result.errors,
  };
}

interface FixedRow extends Row {
  /** Latency from the moment the request was sent (not corrected for late sends). */
  sentP50: number;
  sentP99: number;
  p999: number;
  max: number;
  /** CPU the load generator itself used, in % of one core. */
  loaderCpu: number;
  /** Longest event-loop delay of the load generator during the run, ms. */
  genLoopMax: number;
  /** Longest event-loop delay of the service during the run, ms. */
  svcLoopMax: number;
}

const percentile = (sorted: Float64Array, p: number) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : 0;

/**
 * An open-loop load at a fixed rate: request k is due at start + k / rate, whatever happened to
 * the earlier ones, over a pool of keep-alive connections. Latency is measured from the due time
 * (so a stall of the service, or of this generator, counts against the figures: no coordinated
 * omission) and, for comparison, from the actual send. autocannon's `overallRate` is not this:
 * each connection sends back to back until it has made its share of the second, then waits for
 * the next second, so "1,000 req/s" is a saturating burst of 50 connections in the first part of
 * every second.
 */
async function fixedRate(
  scenario: string,
  url: string,
  token: string,
  paths: string[],
  rate: number,
  seconds = DURATION,
): Promise<FixedRow> {
  const target = new URL(url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const total = Math.round(rate * seconds);
  const fromDue = new Float64Array(total);
  const fromSent = new Float64Array(total);
  let sent = 0;
  let finished = 0;
  let failed = 0;
  const before = await cacheCounts(url);
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  const start = wall0 + 20;
  await new Promise<void>((resolve) => {
    const fire = (k: number, due: number) => {
      const at = performance.now();
      const req = http.get(
        {
          agent,
          host: target.hostname,
          port: target.port,
          path: paths[k % paths.length],
          headers: { authorization: `Bearer ${token}` },
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            const now = performance.now();
            fromDue[k] = now - due;
            fromSent[k] = now - at;
            if (res.statusCode !== 200) failed += 1;
            if (++finished === total) resolve();
          });
        },
      );
      req.on('error', () => {
        failed += 1;
        fromDue[k] = fromSent[k] = performance.now() - due;
        if (++finished === total) resolve();
      });
    };
    const tick = () => {
      const now = performance.now();
      const due = Math.min(total, Math.floor(((now - start) * rate) / 1000) + 1);
      while (sent < due) {
        const k = sent++;
        fire(k, start + (k * 1000) / rate);
      }
      if (sent < total) setTimeout(tick, 1);
    };
    setTimeout(tick, 20);
  });
  const wall = performance.now() - wall0;
  const cpu = process.cpuUsage(cpu0);
  loop.disable();
  agent.destroy();
  const after = await cacheCounts(url);
  const hits = after.hit - before.hit;
  const lookups = hits + after.miss - before.miss + after.error - before.error;
  fromDue.sort();
  fromSent.sort();
  const round = (n: number) => Math.round(n * 10) / 10;
  return {
    scenario,
    hitRate: lookups ? `${Math.round((hits / lookups) * 100)}%` : '-',
    requests: total,
    rps: Math.round((total / wall) * 1000),
    p50: round(percentile(fromDue, 50)),
    p99: round(percentile(fromDue, 99)),
    p999: round(percentile(fromDue, 99.9)),
    max: round(fromDue[fromDue.length - 1] ?? 0),
    sentP50: round(percentile(fromSent, 50)),
    sentP99: round(percentile(fromSent, 99)),
    non2xx: failed,
    loaderCpu: Math.round(((cpu.user + cpu.system) / 1000 / wall) * 100),
    genLoopMax: Math.round(loop.max / 1e6),
    svcLoopMax: after.loopMaxMs,
  };
}

/** Busy CPU time of the whole machine from /proc/stat (Linux), in ms over all cores. */
function machineBusyMs(): number {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1);
  // user nice system idle iowait irq softirq steal: all but idle and iowait are busy.
  const n = f.map(Number);
  return ((n[0]! + n[1]! + n[2]! + n[5]! + n[6]! + (n[7] ?? 0)) * 1000) / 100;
}

/**
 * Waits (at most `limitMs`) until the rest of the machine (everything but this process and
 * `pid`) used under 15% of a core over a second: the JVMs of the stack compile and collect for
 * a while after the cold phases, and on 2 shared cores that lands in the service's tail.
 * Returns how long it waited.
 */
async function settle(pid: number, limitMs = 30_000): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    const m0 = machineBusyMs();
    const s0 = cpuMs(pid);
    const c0 = process.cpuUsage();
    await new Promise((r) => setTimeout(r, 1000));
    const own = process.cpuUsage(c0);
    const others = machineBusyMs() - m0 - (cpuMs(pid) - s0) - (own.user + own.system) / 1000;
    if (others < 150 || performance.now() - t0 > limitMs) return Math.round(performance.now() - t0);
  }
}

/** CPU time of a process from /proc (Linux), in ms. */
function cpuMs(pid: number): number {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime + stime, 100 Hz
  } catch {
    return NaN;
  }
}

async function main(): Promise<void> {
  const stack = await startStack({ only: ['postgres', 'elasticsearch', 'redis', 'kafka'] });
  Object.assign(process.env, stack.env);
  const sfx = suffix();
  const prefix = `benchapi_${sfx}_`;
  const generationKey = `catalog-api-bench:${sfx}:generation`;
  const es = new Client({ node: process.env.ELASTICSEARCH_URL! });
  const redis = new Redis(process.env.REDIS_URL!);
  const issuer = await startTestIssuer();
  let child: ChildProcess | undefined;
  let dropDatabase = async () => undefined as void;
  try {
    let ids: string[];
    let titles: string[];
    if (fs.existsSync(MOVIES)) {
      const loaded = await loadLegacyCatalog({
        ES_INDEX_PREFIX: prefix,
        CACHE_GENERATION_KEY: generationKey,
        ETL_BATCH_SIZE: '1000',
      });
      ({ ids, titles, drop: dropDatabase } = loaded);
    } else {
      // No legacy file: a generated catalog of the same size, written as catalog-etl writes it.
      const catalog = generateCatalog({ films: 999, genres: 26, persons: 4166 });
      await new IndexedCatalog(es, prefix, redis, generationKey, catalog).load();
      ids = catalog.films.map((f) => f.id);
      titles = catalog.films.map((f) => f.title);
    }
    const words = [
      ...new Set(
        titles.flatMap((t) => t.toLowerCase().split(/[^a-z]+/)).filter((w) => w.length > 3),
      ),
    ];

    const port = await freePort();
    const nodeArgs = [
      ...(CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', path.resolve(CPU_PROF)] : []),
      // As `npm start` runs it: a 32 MB young generation (fewer scavenges, far less promoted to
      // the old space, so fewer and shorter mark-compact pauses). BENCH_NODE_ARGS=' ' for none.
      ...(process.env.BENCH_NODE_ARGS ?? '--max-semi-space-size=32').split(' ').filter(Boolean),
    ];
    child = spawn(process.execPath, [...nodeArgs, path.resolve(__dirname, '../dist/main.js')], {
      env: {
        ...process.env,
        PORT: String(port),
        LOG_LEVEL: 'warn',
        ES_INDEX_PREFIX: prefix,
        CACHE_KEY_PREFIX: `catalog-api-bench:${sfx}:`,
        CACHE_GENERATION_KEY: generationKey,
        CACHE_TTL_SECONDS: '600',
        KAFKA_TOPIC_PREFIX: `bench.${sfx}.`,
        AUTH_JWKS_URL: issuer.jwksUrl,
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    const url = `http://127.0.0.1:${port}`;
    await waitReady(url, child);
    // Valid for the whole run (the cold phases and the waits for a quiet machine take minutes).
    const token = await issuer.token('bench-user', ['public_user'], '1h');
    const bump = () => redis.incr(generationKey);

    const filmPaths = ids.map((id) => `/api/v1/films/${id}`);
    const listPaths: string[] = [];
    for (let size = 1; size <= 100; size++)
      for (let page = 1; page <= 100; page++)
        listPaths.push(`/api/v1/films?page_number=${page}&page_size=${size}`);
    listPaths.sort(() => Math.random() - 0.5);
    const searchPaths = words.flatMap((w) =>
      [1, 2, 3].map((p) => `/api/v1/films/search?query=${w}&page_size=10&page_number=${p}`),
    );

    const rows: Row[] = [];
    const fixed: Array<FixedRow & { serviceCpu: number; othersCpu: number; settledMs: number }> =
      [];
    // Warm up the JIT and connections (not measured).
    await run('warm-up', url, token, filmPaths.slice(0, 50), { duration: 3 });

    const searches = searchPaths.slice(0, 1500);
    if (ONLY !== 'fixed') {
      // The floor on this machine: the same app stack (request id, metrics, probes) without
      // auth, cache or events.
      rows.push(await run('baseline: /healthz', url, token, ['/healthz'], {}));
      await bump();
      rows.push(await run('film by id, cold', url, token, filmPaths, { amount: filmPaths.length }));
      rows.push(await run('film by id, warm', url, token, filmPaths, {}));
      await bump();
      rows.push(await run('film list, cold', url, token, listPaths, { amount: 3000 }));
      rows.push(await run('film list, warm', url, token, listPaths.slice(0, 3000), {}));
      await bump();
      rows.push(await run('film search, cold', url, token, searches, { amount: searches.length }));
      rows.push(await run('film search, warm', url, token, searches, {}));
    }
    // Every answer of the fixed-rate runs cached under the current generation first.
    const mixed = [...filmPaths, ...listPaths.slice(0, 3000), ...searches].sort(
      () => Math.random() - 0.5,
    );
    await run('re-warm', url, token, mixed, { amount: mixed.length });
    // Steady state: the page views of the re-warm sent, the index and the JVMs settled.
    await new Promise((r) => setTimeout(r, 3000));
    const RATE = Number(process.env.BENCH_RATE ?? 1000);
    for (const [scenario, paths] of [
      [`film by id, warm, open loop ${RATE} req/s`, filmPaths],
      [`mixed warm, open loop ${RATE} req/s`, mixed],
    ] as const) {
      const settledMs = await settle(child.pid!);
      const cpu0 = cpuMs(child.pid!);
      const machine0 = machineBusyMs();
      const t0 = performance.now();
      const r = await fixedRate(scenario, url, token, paths, RATE);
      const wall = performance.now() - t0;
      const serviceMs = cpuMs(child.pid!) - cpu0;
      const serviceCpu = Math.round((serviceMs / wall) * 100);
      // Everything else on the machine: the stack's servers, other work.
      const othersCpu = Math.max(
        0,
        Math.round(((machineBusyMs() - machine0 - serviceMs) / wall) * 100 - r.loaderCpu),
      );
      fixed.push({ ...r, serviceCpu, othersCpu, settledMs });
    }
    if (ONLY !== 'fixed') {
      // For comparison with earlier figures: autocannon's overallRate (bursts, see fixedRate).
      rows.push(
        await run('film by id, autocannon overallRate 1,000', url, token, filmPaths, {
          overallRate: 1000,
        }),
      );
    }

    const metricsText = await (await fetch(`${url}/metrics`)).text();
    const sent = /catalog_api_page_view_events_sent_total (\d+)/.exec(metricsText)?.[1];
    const failed = [
      ...metricsText.matchAll(/catalog_api_page_view_events_failed_total\{[^}]*\} (\d+)/g),
    ]
      .map((m) => Number(m[1]))
      .reduce((a, b) => a + b, 0);

    console.log('\ncatalog-api (50 connections unless a fixed rate is given)');
    console.log(
      `${'scenario'.padEnd(40)} ${'requests'.padStart(9)} ${'req/s'.padStart(7)} ${'p50 ms'.padStart(7)} ${'p99 ms'.padStart(7)} ${'non-2xx'.padStart(8)}   cache hits`,
    );
    for (const r of rows) {
      console.log(
        `${r.scenario.padEnd(40)} ${String(r.requests).padStart(9)} ${String(r.rps).padStart(7)} ${String(r.p50).padStart(7)} ${String(r.p99).padStart(7)} ${String(r.non2xx).padStart(8)}   ${r.hitRate ?? '-'}`,
      );
    }
    console.log(`page-view events sent to Kafka: ${sent ?? '?'}, failed: ${failed}`);
    console.log(
      `\nopen-loop fixed rate (latency from the due time; "sent" from the actual send)\n${'scenario'.padEnd(40)} ${'req/s'.padStart(7)} ${'p50 ms'.padStart(7)} ${'p99 ms'.padStart(7)} ${'p99.9'.padStart(7)} ${'max'.padStart(7)} ${'sent p50'.padStart(9)} ${'sent p99'.padStart(9)} ${'non-2xx'.padStart(8)} ${'svc CPU'.padStart(8)} ${'gen CPU'.padStart(8)} ${'others'.padStart(7)} ${'settle'.padStart(7)} ${'svc loop'.padStart(9)} ${'gen loop'.padStart(9)}   cache hits`,
    );
    for (const r of fixed) {
      console.log(
        `${r.scenario.padEnd(40)} ${String(r.rps).padStart(7)} ${String(r.p50).padStart(7)} ${String(r.p99).padStart(7)} ${String(r.p999).padStart(7)} ${String(r.max).padStart(7)} ${String(r.sentP50).padStart(9)} ${String(r.sentP99).padStart(9)} ${String(r.non2xx).padStart(8)} ${`${r.serviceCpu}%`.padStart(8)} ${`${r.loaderCpu}%`.padStart(8)} ${`${r.othersCpu}%`.padStart(7)} ${`${(r.settledMs / 1000).toFixed(1)}s`.padStart(7)} ${`${r.svcLoopMax} ms`.padStart(9)} ${`${r.genLoopMax} ms`.padStart(9)}   ${r.hitRate ?? '-'}`,
      );
    }
    console.log(
      '(svc/gen CPU: the service and this load generator, % of one core; others: the rest of the\n' +
        ' machine during the run; settle: the wait before it for the rest of the machine to go quiet;\n' +
        ' svc/gen loop: the longest event-loop delay of the service and of the generator in the run)',
    );
    console.log(
      `load average: ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );
  } finally {
    if (child && child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child!.once('exit', r));
    }
    await issuer.close();
    await es.indices
      .delete({
        index: ['films', 'genres', 'persons'].map((i) => `${prefix}${i}`),
        ignore_unavailable: true,
      })
      .catch(() => undefined);
    const admin = new Kafka({
      brokers: process.env.KAFKA_BROKERS!.split(','),
      logLevel: logLevel.NOTHING,
    }).admin();
    await admin.connect();
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(`bench.${sfx}.`));
    if (topics.length) await admin.deleteTopics({ topics }).catch(() => undefined);
    await admin.disconnect();
    const keys = await redis.keys(`catalog-api-bench:${sfx}:*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
    await es.close();
    await dropDatabase();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
