#!/usr/bin/env node
/* global setInterval, clearInterval */
/**
 * The ETL under benchmark, in its own process (started by etl.bench.mjs): the service's own
 * config reader and loader wiring (what dist/main.js runs, minus the HTTP API), so its memory is
 * the loader's alone. It tells the parent over IPC when the rows of BENCH_FILM became queryable (the
 * ClickHouse insert holding them returned) and how many rows were inserted.
 */
import * as path from 'node:path';
import { createRequire } from 'node:module';

const root = path.resolve(new URL('../../..', import.meta.url).pathname);
const require = createRequire(import.meta.url);
const { wireLoader } = require(path.join(root, 'services/ugc-etl/dist/wiring.js'));
const { readConfig } = require(path.join(root, 'services/ugc-etl/dist/config.js'));
const { createLogger } = require(path.join(root, 'packages/logging/dist/index.js'));

const config = readConfig();
const film = process.env.BENCH_FILM;
const logger = createLogger({ service: 'ugc-etl-bench', level: config.LOG_LEVEL });
const pipeline = await wireLoader(config, logger);
const insert = pipeline.ch.insert.bind(pipeline.ch);
pipeline.ch.insert = async (params) => {
  const result = await insert(params);
  const at = Date.now();
  const ids = [];
  for (const v of params.values) if (v.film_id === film) ids.push(v.event_id);
  if (ids.length) process.send({ kind: 'queryable', at, ids });
  return result;
};
const progress = setInterval(() => {
  const m = process.memoryUsage();
  process.send({
    heapMb: Math.round((m.heapTotal + m.external) / 1048576),
    kind: 'rows',
    rows: pipeline.sink.stats.rows,
    inserts: pipeline.sink.stats.inserts,
  });
}, 50);
process.on('message', async (m) => {
  if (m === 'stop') {
    clearInterval(progress);
    await pipeline.stop();
    process.exit(0);
  }
});
await pipeline.start();
process.send({ kind: 'started' });
