#!/usr/bin/env node
/* global performance */
/**
 * Chart query bench (on demand: `npm run bench:charts -w services/ugc-etl`, after
 * `node scripts/build.mjs`). Bulk-loads BENCH_EVENTS (10,000,000) events into a fresh embedded
 * chDB folder in the OS temp folder (or CLICKHOUSE_URL, in its own database), through the
 * service's own schema step, so the materialized views fill the rollups as the ETL's inserts do;
 * then times every chart query of the analytics page warm (BENCH_RUNS runs after one warm-up:
 * median and max) over the last day, week and 30 days, for all films and for the busiest film,
 * next to the same charts computed from the event tables (FINAL, no rollups). The folder (or
 * database) is deleted at the end, also on failure or after BENCH_MAX_SECONDS (900).
 *
 * The events: 30 days ending at the next whole hour; 1,000 films with Zipf-like popularity,
 * 100,000 viewers, player events in viewings of 8 (one viewer, one film); 55 % pauses (clustered at minutes of the film), 15 % quality changes, 5 % full
 * views, 25 % catalog page views over the seven endpoints (searches from 2,000 queries, 10 %
 * finding nothing).
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';

const require = createRequire(import.meta.url);
const { createClickHouse } = require('@cinema/clickhouse');
const { createSchema } = require('../dist/adapters/schema.js');
const { ChartsRepository } = require('../dist/adapters/charts.repository.js');
const { chartRange } = require('../dist/domain/charts.js');

const EVENTS = Number(process.env.BENCH_EVENTS ?? 10_000_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const MAX_SECONDS = Number(process.env.BENCH_MAX_SECONDS ?? 900);
const db = `charts_bench_${process.pid}`;
const dir = path.join(os.tmpdir(), `cinema-charts-bench-${process.pid}`);
const url = process.env.CLICKHOUSE_URL;

const ch = createClickHouse({
  url,
  path: dir,
  client: {
    request_timeout: 600_000,
    clickhouse_settings: { date_time_input_format: 'best_effort' },
  },
});
let cleaned = false;
async function cleanUp() {
  if (cleaned) return;
  cleaned = true;
  await ch.command({ query: `DROP DATABASE IF EXISTS ${db}` }).catch(() => undefined);
  await ch.close().catch(() => undefined);
  if (!url) fs.rmSync(dir, { recursive: true, force: true });
}
const timer = setTimeout(() => {
  console.error(`bench: over ${MAX_SECONDS} s, stopping`);
  void cleanUp().finally(() => process.exit(1));
}, MAX_SECONDS * 1000);
timer.unref();
process.once('SIGINT', () => void cleanUp().finally(() => process.exit(130)));

const HOUR = 3_600_000;
const end = Math.ceil(Date.now() / HOUR) * HOUR;
const start = end - 30 * 24 * HOUR;
const chTime = (ms) => new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
const span = (end - start) / 1000; // seconds

// Film n (0..999): Zipf-like, n = floor(1000 ^ u) - 1 over a uniform u.
const film = (salt, key = 'number') =>
  `toUUID(concat('00000000-0000-4000-8000-', leftPad(toString(toUInt32(floor(pow(1000, (cityHash64(${key}, ${salt}) % 1000000) / 1000000.0)) - 1)), 12, '0')))`;
const user = (salt, key = 'number') =>
  `concat('u', toString(cityHash64(${key}, ${salt}) % 100000))`;
// Player events come in viewings of 8 (one viewer, one film, consecutive in time).
const VIEWING = 'intDiv(number, 8)';
const time = (n) =>
  `toDateTime64('${chTime(start)}', 3, 'UTC') + toIntervalMillisecond(intDiv(number * ${span * 1000}, ${n}))`;

async function load(table, n, select) {
  const t0 = Date.now();
  for (let from = 0; from < n; from += 2_000_000) {
    const count = Math.min(2_000_000, n - from);
    await ch.command({
      query: `INSERT INTO ${db}.${table} ${select(n).replace('{numbers}', `numbers(${from}, ${count})`)}`,
      clickhouse_settings: { max_insert_threads: 2 },
    });
  }
  console.log(
    `  ${table.padEnd(38)} ${n.toLocaleString('en-US').padStart(11)} rows  ${((Date.now() - t0) / 1000).toFixed(1)} s`,
  );
}

const click = (n, extra) =>
  `SELECT generateUUIDv4(number) AS event_id, ${user(1, VIEWING)} AS user_id, ${film(2, VIEWING)} AS film_id,
     ${time(n)} AS event_time, event_time AS received_time${extra} FROM {numbers}`;
const pageView = (endpoint, params) => (n) =>
  `SELECT generateUUIDv4(number) AS event_id, ${user(3)} AS user_id,
     ${params.film ?? "''"} AS film_id, '' AS genre_id, '' AS person_id, ${params.query ?? "''"} AS query,
     '${endpoint}' AS endpoint, CAST(map(), 'Map(String, String)') AS params,
     multiIf(cityHash64(number, 5) % 100 < 2, 404, cityHash64(number, 5) % 1000 < 3, 500, 200) AS status_code,
     ${time(n)} AS event_time, ${params.results ?? 'NULL'} AS result_count FROM {numbers}`;

const shares = {
  clicks_on_video_pauses: [
    0.55,
    (n) =>
      click(
        n,
        `, toFloat64((cityHash64(number, 4) % 120) * 60 + cityHash64(number, 6) % 60) AS position_sec`,
      ),
  ],
  video_quality_change_clicks: [
    0.15,
    (n) =>
      click(
        n,
        `, ['360p', '720p', '1080p'][1 + cityHash64(number, 7) % 3] AS from_quality,
           ['360p', '720p', '1080p'][1 + (cityHash64(number, 7) + 1 + cityHash64(number, 8) % 2) % 3] AS to_quality,
           toFloat64(cityHash64(number, 4) % 7200) AS position_sec`,
      ),
  ],
  clicks_on_video_full_views: [0.05, (n) => click(n, `, 7200.0 AS duration_sec`)],
  get_films_page_views: [0.07, pageView('/api/v1/films', { results: '999' })],
  get_film_by_id_page_views: [
    0.06,
    pageView('/api/v1/films/{film_id}', { film: `toString(${film(2)})` }),
  ],
  search_films_by_keyword_page_views: [
    0.05,
    pageView('/api/v1/films/search', {
      query: `concat('q', toString(cityHash64(number, 9) % 2000))`,
      results: `if(cityHash64(number, 9) % 2000 < 200, 0, 1 + cityHash64(number, 10) % 50)`,
    }),
  ],
  get_genres_page_views: [0.02, pageView('/api/v1/genres', { results: '26' })],
  get_genre_by_id_page_views: [0.02, pageView('/api/v1/genres/{genre_id}', {})],
  get_person_by_id_page_views: [0.02, pageView('/api/v1/persons/{person_id}', {})],
  search_persons_by_keyword_page_views: [
    0.01,
    pageView('/api/v1/persons/search', {
      query: `concat('p', toString(cityHash64(number, 9) % 500))`,
      results: `if(cityHash64(number, 9) % 500 < 100, 0, 1)`,
    }),
  ],
};

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
async function timed(fn) {
  await fn(); // warm-up
  const ms = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    await fn();
    ms.push(performance.now() - t0);
  }
  return { median: median(ms), max: Math.max(...ms) };
}
const rawQuery = (query) => async () => {
  const rs = await ch.query({ query, format: 'JSONEachRow' });
  await rs.json();
};

try {
  console.log(
    `charts bench: ${EVENTS.toLocaleString('en-US')} events, ${url ? 'ClickHouse server' : `chDB at ${dir}`}`,
  );
  await createSchema(ch, db);
  const t0 = Date.now();
  let total = 0;
  for (const [table, [share, select]] of Object.entries(shares)) {
    const n = Math.round(EVENTS * share);
    total += n;
    await load(table, n, select);
  }
  const loadSeconds = (Date.now() - t0) / 1000;
  console.log(
    `loaded ${total.toLocaleString('en-US')} events in ${loadSeconds.toFixed(1)} s (${Math.round(total / loadSeconds).toLocaleString('en-US')} rows/s, materialized views included)`,
  );
  const sizes = await (
    await ch.query({
      query: `SELECT table, sum(rows) AS rows, sum(bytes_on_disk) AS bytes, count() AS parts FROM system.parts
              WHERE database = '${db}' AND active GROUP BY table ORDER BY table`,
      format: 'JSONEachRow',
    })
  ).json();
  for (const s of sizes)
    console.log(
      `  ${s.table.padEnd(38)} ${Number(s.rows).toLocaleString('en-US').padStart(11)} rows ${(Number(s.bytes) / 1e6).toFixed(1).padStart(7)} MB ${String(s.parts).padStart(3)} parts`,
    );

  const charts = new ChartsRepository(ch, db);
  const [busiest] = await (
    await ch.query({
      query: `SELECT toString(film_id) AS film FROM ${db}.r_viewers_daily GROUP BY film ORDER BY sum(pauses) DESC LIMIT 1`,
      format: 'JSONEachRow',
    })
  ).json();
  const film1 = busiest.film;
  const now = new Date(end - 1);
  const ranges = { day: 24, week: 168, '30 days': 720 };
  const rows = [];
  for (const [label, hours] of Object.entries(ranges)) {
    const r = chartRange(
      new Date(end - hours * HOUR).toISOString(),
      new Date(end).toISOString(),
      now,
    );
    const cases = {
      'pause heat map (top 12 films)': () => charts.pauseHeatmap(r, undefined, 12),
      'pause heat map (busiest film)': () => charts.pauseHeatmap(r, film1, 12),
      'quality switches': () => charts.qualitySwitches(r, undefined),
      'quality switches (busiest film)': () => charts.qualitySwitches(r, film1),
      'full-view rate (top/bottom 10)': () => charts.fullViewRate(r, 10, 1),
      'page views per endpoint': () => charts.pageViews(r),
      'searches (top/zero results)': () => charts.searches(r, 15),
      'active viewers': () => charts.activeViewers(r, undefined),
      'active viewers (busiest film)': () => charts.activeViewers(r, film1),
      'film picker': () => charts.films(r, 100),
    };
    for (const [name, fn] of Object.entries(cases))
      rows.push({ range: label, chart: name, ...(await timed(fn)) });
  }
  // The same figures from the event tables, without the rollups (FINAL, as the read API reads).
  const from = chTime(end - 30 * 24 * HOUR);
  const to = chTime(end);
  const where = `event_time >= '${from}' AND event_time < '${to}'`;
  const naive = {
    'pause heat map (top 12 films)': `SELECT film_id, toUInt32(intDiv(toUInt64(position_sec), 60)) AS m, count() FROM ${db}.clicks_on_video_pauses FINAL
       WHERE ${where} AND film_id IN (SELECT film_id FROM ${db}.clicks_on_video_pauses FINAL WHERE ${where} GROUP BY film_id ORDER BY count() DESC LIMIT 12)
       GROUP BY film_id, m`,
    'quality switches': `SELECT toStartOfInterval(event_time, INTERVAL 30 MINUTE) AS t, from_quality, to_quality, count() FROM ${db}.video_quality_change_clicks FINAL WHERE ${where} GROUP BY t, from_quality, to_quality`,
    'full-view rate (top/bottom 10)': `SELECT film_id, uniqExact(user_id) AS v, uniqExactIf(user_id, full) AS f FROM (
       SELECT film_id, user_id, 0 AS full FROM ${db}.clicks_on_video_pauses FINAL WHERE ${where}
       UNION ALL SELECT film_id, user_id, 0 FROM ${db}.video_quality_change_clicks FINAL WHERE ${where}
       UNION ALL SELECT film_id, user_id, 1 FROM ${db}.clicks_on_video_full_views FINAL WHERE ${where})
       GROUP BY film_id ORDER BY f / v DESC LIMIT 10`,
    'active viewers': `SELECT toStartOfInterval(event_time, INTERVAL 30 MINUTE) AS t, uniqExact(user_id) FROM (
       SELECT event_time, user_id FROM ${db}.clicks_on_video_pauses FINAL WHERE ${where}
       UNION ALL SELECT event_time, user_id FROM ${db}.video_quality_change_clicks FINAL WHERE ${where}
       UNION ALL SELECT event_time, user_id FROM ${db}.clicks_on_video_full_views FINAL WHERE ${where}) GROUP BY t`,
  };
  for (const [name, query] of Object.entries(naive))
    rows.push({
      range: '30 days',
      chart: `${name}, event tables (no rollup)`,
      ...(await timed(rawQuery(query))),
    });

  console.log(`\nwarm query times (${RUNS} runs after a warm-up; target < 300 ms):`);
  console.log(`| range | chart | median ms | max ms |\n|---|---|---:|---:|`);
  for (const r of rows)
    console.log(`| ${r.range} | ${r.chart} | ${r.median.toFixed(0)} | ${r.max.toFixed(0)} |`);
  const slow = rows.filter((r) => !r.chart.includes('no rollup') && r.median >= 300);
  console.log(
    slow.length
      ? `\nover 300 ms: ${slow.map((r) => `${r.range} ${r.chart}`).join(', ')}`
      : '\nevery chart query under 300 ms (median)',
  );
} finally {
  await cleanUp();
  clearTimeout(timer);
}
