/**
 * ETL benchmark: time to load the legacy catalog (999 films, migrated from movies.sqlite by
 * catalog-admin's migration CLI, run as its own process) and a generated 100k-film catalog into
 * Elasticsearch, from an empty index, with the time spent in PostgreSQL and Elasticsearch calls.
 *
 *   npm run bench -w services/catalog-etl            (BENCH_FILMS=100000 by default;
 *                                                     ETL_BATCH_SIZE, ES_BULK_CONCURRENCY)
 *
 * Uses the local stack's PostgreSQL and Elasticsearch (started if needed, left running).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client } from '@elastic/elasticsearch';
import * as client from 'prom-client';
import { createLogger } from '@cinema/logging';
import { startStack } from '@cinema/stack';
import { runProcess, suffix, TSX } from '@cinema/testing';
import { ContentRepository } from '../src/adapters/content.repository';
import { EtlMetrics } from '../src/adapters/etl.metrics';
import { SearchIndex } from '../src/adapters/search.index';
import { StateRepository } from '../src/adapters/state.repository';
import { Etl, type ContentSource, type SearchSink } from '../src/domain/etl';
import { Runner } from '../src/domain/runner';
import { createTestDatabase, seedCatalog, type TestDatabase } from '../test/helpers';

const MOVIES = path.resolve(__dirname, '../../../../shared/data/movies.sqlite');
const FILMS = Number(process.env.BENCH_FILMS ?? 100_000);
const BATCH = Number(process.env.ETL_BATCH_SIZE ?? 1000);
const CONCURRENCY = Number(process.env.ES_BULK_CONCURRENCY ?? 2);

/** Wraps every method of `target` to add its time to `spent[label]`. */
function timed<T extends object>(target: T, label: string, spent: Map<string, number>): T {
  return new Proxy(target, {
    get(t, prop, receiver) {
      const value = Reflect.get(t, prop, receiver);
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        const started = process.hrtime.bigint();
        try {
          return await value.apply(t, args);
        } finally {
          const key = `${label}.${String(prop)}`;
          spent.set(key, (spent.get(key) ?? 0) + Number(process.hrtime.bigint() - started) / 1e6);
        }
      };
    },
  });
}

async function load(name: string, fill: (db: TestDatabase) => Promise<void>) {
  const db = await createTestDatabase(`bench_etl`);
  const es = new Client({ node: process.env.ELASTICSEARCH_URL!, requestTimeout: 120_000 });
  const prefix = `bench_${suffix()}_`;
  try {
    const t0 = Date.now();
    await fill(db);
    // What a bulk loader leaves behind: fresh planner statistics (autovacuum would, later).
    await db.pool.query('ANALYZE');
    const fillMs = Date.now() - t0;
    await StateRepository.migrate(db.pool);
    const sink = new SearchIndex(es, prefix, 'standard', '-1', CONCURRENCY);
    await sink.ensureIndices();
    const spent = new Map<string, number>();
    const metrics = new EtlMetrics(new client.Registry());
    const etl = new Etl({
      source: timed<ContentSource>(new ContentRepository(db.pool, 0), 'pg', spent),
      state: new StateRepository(db.pool, prefix),
      sink: timed<SearchSink>(sink, 'es', spent),
      observer: metrics,
      batchSize: BATCH,
    });
    const runner = new Runner(
      etl,
      { pollIntervalMs: 1000, retryMinMs: 500, retryMaxMs: 5000, retries: 3 },
      createLogger({ service: 'bench', level: 'warn' }),
      metrics,
    );
    const started = Date.now();
    const result = await runner.once();
    const ms = Date.now() - started;
    const films = (await es.count({ index: `${prefix}films` })).count;
    const docs = Object.values(result.indexed).reduce((a, b) => a + b, 0);
    console.log(`\n${name}`);
    console.log(`  source filled in ${(fillMs / 1000).toFixed(1)} s`);
    console.log(
      `  ETL: ${(ms / 1000).toFixed(2)} s for ${result.indexed.films} films, ${result.indexed.genres} genres, ${result.indexed.persons} persons (${Math.round((docs / ms) * 1000)} documents/s, batch ${BATCH}, ${CONCURRENCY} parallel bulks); ${films} films in the index`,
    );
    const breakdown = [...spent]
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k} ${(v / 1000).toFixed(2)} s`)
      .join(', ');
    console.log(`  time in calls: ${breakdown}`);
    return ms;
  } finally {
    await es.indices
      .delete({
        index: ['films', 'genres', 'persons'].map((i) => `${prefix}${i}`),
        ignore_unavailable: true,
      })
      .catch(() => undefined);
    await es.close();
    await db.drop();
  }
}

async function main(): Promise<void> {
  const stack = await startStack({ only: ['postgres', 'elasticsearch'] });
  Object.assign(process.env, stack.env);
  if (fs.existsSync(MOVIES)) {
    await load('legacy catalog (movies.sqlite, 999 films)', async (db) => {
      const migration = runProcess(TSX, ['src/cli.ts', 'migrate-sqlite', MOVIES, '--no-progress'], {
        cwd: path.resolve(__dirname, '../../catalog-admin'),
        env: { DATABASE_URL: db.url },
      });
      if ((await migration.exited) !== 0) {
        throw new Error(`the SQLite migration did not verify:\n${migration.output()}`);
      }
    });
  } else {
    console.log(`(${MOVIES} not found: legacy catalog skipped)`);
  }
  await load(`generated catalog (${FILMS} films)`, async (db) => {
    await seedCatalog(db.pool, {
      films: FILMS,
      genres: 26,
      persons: Math.max(10, Math.round(FILMS / 4)),
      linksPerFilm: 6,
      // A bulk import: one timestamp, triggers off (as the SQLite migration does).
      modified: new Date(Date.now() - 60_000).toISOString(),
    });
  });
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
